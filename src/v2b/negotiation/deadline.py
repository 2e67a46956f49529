"""How long a full menu takes, learnt while the service runs, to skip a pricing that would
miss its deadline instead of holding the engine until it does (``docs/service.md``, "Menus
on time"). Only the live service sets deadlines; offline runs never consult this."""

from __future__ import annotations

from dataclasses import dataclass

#: Weight of the newest priced menu in the running estimate.
_NEWEST = 0.5
#: Each skipped pricing lowers the estimate by this factor, so that pricing is tried again
#: once it may fit (the machine less busy, fewer cars).
_FORGET = 0.9


@dataclass
class PricingTime:
    """Seconds of a full menu per car on the site (the connected ones and the arriving one),
    the pricing LP growing about linearly with them."""

    seconds_per_car: float = 0.0

    def expected_s(self, cars: int) -> float:
        return self.seconds_per_car * cars

    def priced(self, seconds: float, cars: int) -> None:
        """A menu priced in ``seconds``."""
        rate = seconds / max(cars, 1)
        self.seconds_per_car = rate if self.seconds_per_car == 0.0 else (
            _NEWEST * rate + (1.0 - _NEWEST) * self.seconds_per_car)

    def ran_out(self, seconds: float, cars: int) -> None:
        """A pricing stopped by its deadline after ``seconds``: a full one takes longer."""
        self.seconds_per_car = max(self.seconds_per_car, seconds / max(cars, 1))

    def skipped(self) -> None:
        self.seconds_per_car *= _FORGET
