"""Metadata validation at registration (on by default; validate_metadata=False turns it off)."""

import pytest

from nitro_dispatch import NitroPluginError, PluginBase, PluginManager, ValidationError


def make(class_name, **attrs):
    return type(class_name, (PluginBase,), dict(attrs))


def assert_rejected(cls, *fragments):
    m = PluginManager()
    with pytest.raises(ValidationError) as info:
        m.register(cls)
    msg = str(info.value)
    for fragment in fragments:
        assert fragment in msg, (fragment, msg)
    assert "\n" not in msg.strip(), msg
    assert list(m.get_registered_plugins()) == []
    return msg


def test_validation_error_is_a_nitro_error():
    assert issubclass(ValidationError, NitroPluginError)


@pytest.mark.parametrize("version", ["1.0.0", "2", "0.1.dev0", "1.0rc1", "2024.1.post2", "1!2.0",
                                     "1.0.0+local.7"])
def test_valid_versions_accepted(version):
    m = PluginManager()
    assert m.register(make("GoodVersion", name="good", version=version)) == "good"
    assert m.load("good").version == version


@pytest.mark.parametrize("version", ["banana", "", "1.0.0-beta-gamma-x", "1..2", "one.two"])
def test_invalid_version_rejected(version):
    assert_rejected(make("BadVersion", name="badver", version=version), "badver", "version")


@pytest.mark.parametrize("version", [["1.0"], {"v": 1}])
def test_non_string_version_rejected(version):
    assert_rejected(make("TypedVersion", name="typedver", version=version), "typedver",
                    "version")


@pytest.mark.parametrize("bad_name", ["   ", 42, ["x"]])
def test_invalid_name_rejected(bad_name):
    assert_rejected(make("BadNamePlugin", name=bad_name), "BadNamePlugin", "name")


def test_dependencies_must_be_a_list():
    assert_rejected(make("StrDeps", name="strdeps", dependencies="auth>=1"), "strdeps",
                    "dependencies")


@pytest.mark.parametrize("requirement", ["auth>=", "auth >= 1.0 <<", "!!!",
                                         "auth; python_version <", "auth[", ""])
def test_malformed_requirement_rejected(requirement):
    msg = assert_rejected(
        make("BadReq", name="badreq", dependencies=["core", requirement]), "badreq", "dependenc")
    if requirement:
        assert requirement in msg


def test_non_string_requirement_rejected():
    assert_rejected(make("IntReq", name="intreq", dependencies=["core", 42]), "intreq",
                    "dependenc")


def test_valid_requirements_accepted():
    deps = ["auth>=1.2,<2", "cache", 'legacy; python_version < "3"', "db~=3.1", "x==1.*"]
    m = PluginManager()
    assert m.register(make("GoodDeps", name="gooddeps", dependencies=deps)) == "gooddeps"
    assert "gooddeps" in m.get_registered_plugins()


def test_other_plugins_unaffected_by_a_rejected_one():
    m = PluginManager()
    assert m.register(make("Fine", name="fine")) == "fine"
    with pytest.raises(ValidationError):
        m.register(make("Bad", name="bad", version="nope"))
    assert list(m.get_registered_plugins()) == ["fine"]
    assert m.load_all() == ["fine"]


def test_validate_metadata_false_accepts_bad_version():
    m = PluginManager(validate_metadata=False)
    assert m.register(make("LaxVersion", name="lax", version="not a version")) == "lax"
    plugin = m.load("lax")
    assert plugin.version == "not a version"
    assert m.is_loaded("lax")


def test_validate_metadata_false_accepts_malformed_requirement_at_registration():
    m = PluginManager(validate_metadata=False)
    assert m.register(make("LaxDeps", name="laxdeps", dependencies=["auth>="])) == "laxdeps"
    assert "laxdeps" in m.get_registered_plugins()


def test_validation_is_on_by_default_positional_signature():
    # PluginManager(config, log_level, validate_metadata): 1.x positional order
    with pytest.raises(ValidationError):
        PluginManager(None, None, True).register(make("V", name="v", version="x.y"))
    assert PluginManager(None, None, False).register(make("V", name="v", version="x.y")) == "v"


def test_explicit_empty_name_is_invalid_but_unset_name_means_class_name():
    # 1.x: ``name = ""`` written on the class is an error; leaving it unset is not.
    assert_rejected(make("EmptyNamed", name=""), "EmptyNamed", "name")
    assert PluginManager().register(make("Unnamed")) == "Unnamed"
