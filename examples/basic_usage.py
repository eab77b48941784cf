"""Basic nitro_dispatch usage: plugins with @hook methods, a manager that
loads them, and a data-filter chain run in priority order.

Run it from the repository root:  python examples/basic_usage.py
"""

from __future__ import annotations

import logging
from typing import Any, Dict

from nitro_dispatch import PluginBase, PluginManager, hook

Order = Dict[str, Any]


class Validator(PluginBase):
    """Runs first (priority 100): refuses orders without items."""

    name = "validator"
    version = "1.0.0"
    description = "Checks that an order has items"

    @hook("order.submit", priority=100)
    def check_items(self, order: Order) -> Order:
        if not order.get("items"):
            raise ValueError("an order needs at least one item")
        return dict(order, validated=True, trail=order.get("trail", []) + ["validator"])


class Discount(PluginBase):
    """Runs second (priority 60): 10 % off above 100."""

    name = "discount"
    version = "1.2.0"
    description = "Takes 10% off large orders"

    @hook("order.submit", priority=60)
    def apply_discount(self, order: Order) -> Order:
        total = sum(price for _, price in order["items"])
        if total > 100:
            total = round(total * 0.9, 2)
        return dict(order, total=total, trail=order.get("trail", []) + ["discount"])


class Tax(PluginBase):
    """Runs last (default priority 50): adds 20 % tax."""

    name = "tax"
    description = "Adds VAT"

    def on_load(self) -> None:
        print("  [tax] on_load called")

    @hook("order.submit")
    def add_tax(self, order: Order) -> Order:
        return dict(order, total_with_tax=round(order["total"] * 1.2, 2),
                    trail=order.get("trail", []) + ["tax"])


class Auditor(PluginBase):
    """Observes without changing anything: returning None keeps the data."""

    name = "auditor"

    def __init__(self) -> None:
        super().__init__()
        self.seen = 0

    @hook("order.submit", priority=10)
    def count(self, order: Order) -> None:
        self.seen += 1


def main() -> None:
    manager = PluginManager()
    for plugin_class in (Tax, Validator, Auditor, Discount):
        manager.register(plugin_class)
    print("registered:", ", ".join(sorted(manager.get_registered_plugins())))

    loaded = manager.load_all()
    print("loaded:", ", ".join(sorted(loaded)))

    order = {"id": 1, "items": [("keyboard", 80.0), ("mouse", 40.0)]}
    result = manager.trigger("order.submit", order)
    print("result: total=%.2f validated=%s" % (result["total"], result["validated"]))
    print("total with tax: %.2f" % result["total_with_tax"])

    print("hooks ran in priority order:", " -> ".join(result["trail"]))

    small = manager.trigger("order.submit", {"id": 2, "items": [("pen", 2.5)]})
    print("small order total with tax: %.2f" % small["total_with_tax"])

    auditor = manager.get_plugin("auditor")
    assert isinstance(auditor, Auditor)
    print("auditor saw %d orders" % auditor.seen)

    # A failing hook is logged and the chain goes on (log_and_continue):
    # the empty order keeps the data it had before the validator.  The
    # application decides where log records go; this example keeps them
    # quiet and listens to the error event instead.
    logging.getLogger("nitro_dispatch").addHandler(logging.NullHandler())
    manager.register_hook(PluginManager.EVENT_PLUGIN_ERROR, lambda info: print(
        "error event: plugin %s failed: %s" % (info["plugin_name"], info["error"])))
    empty = manager.trigger("order.submit", {"id": 3, "items": []})
    print("empty order validated:", empty.get("validated", False))

    manager.unload_all()
    print("done")


if __name__ == "__main__":
    main()
