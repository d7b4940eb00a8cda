"""The regions an account has enabled, as EC2 DescribeRegions and Account ListRegions answer them in the commercial
partition, with per-account disabled regions.

Account ListRegions (Account Management API reference, "ListRegions") answers every region of the partition
for the caller's own account (no AccountId given), each with its RegionOptStatus (ENABLED_BY_DEFAULT for
regions that need no opting in, ENABLED, ENABLING, DISABLING, DISABLED), filtered by RegionOptStatusContains
and paged by MaxResults (1 to 50) and NextToken. moto has the Account service but not this operation: it is
added here, answering ENABLED_BY_DEFAULT where DescribeRegions would list the region and DISABLED elsewhere.

moto answers every region it knows whatever the request: the regions that need opting in (as
`not-opted-in`), GovCloud and China included, and ignores AllRegions. AWS answers only the regions enabled
for the calling account unless AllRegions=true. Here: commercial regions only; without AllRegions, those
moto marks `opt-in-not-required`, minus the caller's `disabled_regions`; with AllRegions, all of them,
disabled ones as `not-opted-in`. Note that moto counts af-south-1, eu-south-1 and ap-southeast-3 as enabled
by default (in AWS they are opt-in), and the other opt-in regions as disabled.
"""

from moto.account import urls as account_urls
from moto.account.responses import AccountResponse
from moto.core.responses import ActionResult
from moto.ec2.models.availability_zones_and_regions import Region
from moto.ec2.responses.availability_zones_and_regions import AvailabilityZonesAndRegions

from .config import Config

NOT_OPTED_IN = "not-opted-in"
LIST_REGIONS_PAGE = 50


def _commercial(region: Region) -> bool:
    return region.endpoint.endswith(".amazonaws.com") and not region.name.startswith("us-gov-")


def regions_for(known: list[Region], disabled: set[str], all_regions: bool) -> list[Region]:
    """The regions to answer, from moto's list."""
    seen = [Region(r.name, r.endpoint, NOT_OPTED_IN) if r.name in disabled else r for r in known if _commercial(r)]
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
    install_list_regions(config)


def opt_statuses(known: list[Region], disabled: set[str]) -> list[dict[str, str]]:
    """ListRegions' view of the same regions: ENABLED_BY_DEFAULT or DISABLED, sorted by name."""
    seen = regions_for(known, disabled, all_regions=True)
    return [
        {
            "RegionName": r.name,
            "RegionOptStatus": "DISABLED" if r.opt_in_status == NOT_OPTED_IN else "ENABLED_BY_DEFAULT",
        }
        for r in sorted(seen, key=lambda r: r.name)
    ]


def install_list_regions(config: Config) -> None:
    """Add Account ListRegions to moto's Account service (before the server app exists)."""
    from moto.ec2.models import ec2_backends

    def list_regions(self: AccountResponse) -> ActionResult:
        disabled = set(config.get("disabled_regions").get(self.current_account, []))
        known = ec2_backends[self.current_account]["us-east-1"].describe_regions()
        wanted = set(self._get_param("RegionOptStatusContains") or [])
        statuses = [r for r in opt_statuses(known, disabled) if not wanted or r["RegionOptStatus"] in wanted]
        start = int(self._get_param("NextToken") or 0)
        size = min(int(self._get_param("MaxResults") or LIST_REGIONS_PAGE), LIST_REGIONS_PAGE)
        page = statuses[start : start + size]
        result = {"Regions": page}
        if start + size < len(statuses):
            result["NextToken"] = str(start + size)
        return ActionResult(result)

    AccountResponse.list_regions = list_regions
    account_urls.url_paths["{0}/listRegions$"] = AccountResponse.dispatch
