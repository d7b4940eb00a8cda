"""EC2 DescribeRegions as an account of the commercial partition sees it, with per-account disabled regions.

moto answers every region it knows whatever the request: the regions that need opting in (as
`not-opted-in`), GovCloud and China included, and ignores AllRegions. AWS answers only the regions enabled
for the calling account unless AllRegions=true. Here: commercial regions only; without AllRegions, those
moto marks `opt-in-not-required`, minus the caller's `disabled_regions`; with AllRegions, all of them,
disabled ones as `not-opted-in`. Note that moto counts af-south-1, eu-south-1 and ap-southeast-3 as enabled
by default (in AWS they are opt-in), and the other opt-in regions as disabled.
"""

from moto.core.responses import ActionResult
from moto.ec2.models.availability_zones_and_regions import Region
from moto.ec2.responses.availability_zones_and_regions import AvailabilityZonesAndRegions

from .config import Config

NOT_OPTED_IN = "not-opted-in"


def _commercial(region: Region) -> bool:
    return region.endpoint.endswith(".amazonaws.com") and not region.name.startswith("us-gov-")


def regions_for(known: list[Region], disabled: set[str], all_regions: bool) -> list[Region]:
    """The regions to answer, from moto's list."""
    seen = [Region(r.name, r.endpoint, NOT_OPTED_IN) if r.name in disabled else r
            for r in known if _commercial(r)]
    return seen if all_regions else [r for r in seen if r.opt_in_status != NOT_OPTED_IN]


def install(config: Config) -> None:
    """Patch moto's DescribeRegions (once per process, before the server app exists)."""
    def describe_regions(self: AvailabilityZonesAndRegions) -> ActionResult:
        self.error_on_dryrun()
        disabled = set(config.get("disabled_regions").get(self.current_account, []))
        known = self.ec2_backend.describe_regions(self._get_param("RegionNames", []))
        all_regions = bool(self._get_bool_param("AllRegions", False))
        return ActionResult({"Regions": regions_for(known, disabled, all_regions)})

    AvailabilityZonesAndRegions.describe_regions = describe_regions
