"""`make bench`: how fast, how small and how lean the `bootstrap` binary is, measured on the local AWS emulator.

    .venv/bin/python scripts/bench.py [--binary PATH] [--runs 3] [--quick] [--out BENCHMARKS.md]
    .venv/bin/python scripts/bench.py --timeline 17     # one Create, its call log printed, nothing written
    .venv/bin/python scripts/bench.py --timeline 17 --assumed  # ... into an administrator entered through AssumeRole
    BENCH_ONLY=fan_in .venv/bin/python scripts/bench.py  # only the fan-in (or --only fan_in): its section of
                                                         # BENCHMARKS.md is replaced, the rest kept
    BENCH_ONLY=watch .venv/bin/python scripts/bench.py   # only the membership watch (or --only watch), likewise

It prints a table and writes BENCHMARKS.md at the repository root; every figure comes from this one run:

- Enrollment latency of an existing account in 1 / 8 / 17 / 34 regions, every AWS call taking 200 ms
  (emulator `latency_ms`): median of several runs, next to the same binary with MAX_CONCURRENT_REGIONS=1 (the
  sequential design) and the critical-path bound (round trips on the longest dependent chain x 200 ms), and
  the longest chain of non-overlapping calls seen in the emulator's call log.
- The same for 17 regions into an administrator that is not the provider's own account (FAN_IN_ADMIN, entered
  through AssumeRole): median time, bound, longest chain (target: at most 8 round trips) and the administrator's
  Security Hub calls per region.
- Account-creation detection: how long after CreateAccount finishes the provider notices.
- Cold start: process start to the first Runtime API `next` request.
- Peak resident memory (VmHWM) of a 34-region Create.
- Size of dist/bootstrap.zip.
- StackSet fan-in: FAN_IN_MEMBERS Creates at once, one provider process each (as Lambda runs them), enrolling
  existing accounts into one administrator that is not the provider's own account, whose Security Hub throttles
  as AWS does (emulator token bucket per account and region, scaled down so that its queue lasts a minute):
  SUCCESS count, members Enabled, wall time against the rate-limit bound, the administrator's calls per
  enrollment and region, the throttled answers.
- Membership watch (docs/watch.md): one scheduled run over WATCH_MEMBERS members of one administrator in
  WATCH_REGIONS regions (organization accounts carrying the watch's mark), a few of which left, with the
  administrator's Security Hub and the management account's Organizations throttling at AWS's rates (emulator token
  buckets): the run's calls by operation, its time, and its throttled calls.

The binary: --binary, else BOOTSTRAP_BINARY, else target/release/bootstrap, else the packaged release binary
(target/package/x86_64-unknown-linux-gnu/release/bootstrap), else dist/bootstrap.zip extracted.

Each measured Create runs in a fresh provider process (a cold Lambda: its first request loads credentials and
asks STS who it is) with a fresh member account, so no run inherits another's state. Its stack is real: held in
progress on the emulator (`Cfn.hold`) in the provider's own account, as CloudFormation holds a stack while it
waits, so that the provider's origin check (DescribeStacks, DescribeStackResource) reads it as it would on AWS.
Before a run the emulator is warmed for that account with latency off (moto builds per-account backends lazily,
which AWS does not); the run itself sees 200 ms on every call, the response PUT to S3 included.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import math
import os
import pathlib
import platform
import statistics
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable

import bench_emulator  # beside this script
from emulator.client import DEFAULT_ACCOUNT, Emulator
from harness.constants import ADMIN2, MARK_PREFIX, WATCH_EVENT
from harness.fixtures import Cfn
from harness.provider import Provider, require_binary
from harness.runtime_api import RuntimeApi

REPO = pathlib.Path(__file__).resolve().parents[1]

ADMIN = DEFAULT_ACCOUNT  # the administrator is the provider's own account (no AssumeRole for it)
LATENCY_MS = 200
REGION_COUNTS = (1, 8, 17, 34)
SEQUENTIAL_RUNS = {1: 3, 8: 1, 17: 1, 34: 1}
# Spread over more than one poll period (the provider polls at most every 2 s), so that the max is meaningful.
CREATION_DELAYS_S = (3.0, 3.9, 5.0, 6.1, 6.6, 7.2, 8.0)
COLD_START_RUNS = 20
DEFAULT_CONCURRENCY = 64  # MAX_CONCURRENT_REGIONS unset (src/config.rs)
WHAT_IF_CONCURRENCY = 16  # not the default: the earlier default, regions in waves (one run each, informative)
WHAT_IF_REGIONS = (17, 34)
# An existing account with `Regions` listed into an administrator that is not the provider's own account
# (FAN_IN_ADMIN, entered through AssumeRole): issue 13's single-request figure, chain of at most 8 round trips.
ASSUMED_REGIONS = 17
REQUEST_TIMEOUT_S = 600.0
START_TIMEOUT_S = 15.0

# The fan-in (`Rig.fan_in`): a StackSet rolled out to an OU sends one request per account at about the same time,
# all to one administrator. Security Hub allows an account 10 requests per second per region, burst 30 (Security
# Hub API Reference, "Welcome": "All other operations - RateLimit of 10 requests per second. BurstLimit of 30
# requests per second."); scaled down to 2 per second, burst 5, 40 accounts in 4 regions keep the
# administrator's bucket busy for 40 x 3 / 2 = 60 s in each region, as about 200 accounts would at AWS's rate.
FAN_IN_ADMIN = ADMIN2  # in the harness's ADMINISTRATOR_ACCOUNT_IDS; entered through AssumeRole
FAN_IN_MEMBERS = 40
FAN_IN_REGIONS = ["ap-southeast-2", "eu-west-1", "us-east-1", "us-west-2"]
FAN_IN_RATE_PER_S = 2.0
FAN_IN_BURST = 5
# The administrator's side of one enrollment in one region at the least the API allows: CreateMembers,
# InviteMembers, one GetMembers (docs/design.md, "Throttling and scale"); the rate-limit bound counts these.
FAN_IN_MIN_ADMIN_CALLS = 3
FAN_IN_DEADLINE_S = 900  # Lambda's longest timeout: each invocation's deadline
# The membership watch (`Rig.watch`): WATCH_MEMBERS members of FAN_IN_ADMIN in WATCH_REGIONS, WATCH_RESIGNED of them
# resigned in one region and WATCH_REMOVED removed by the administrator in one region; Security Hub at AWS's rate
# (10 per second, burst 30: tests/emulator/throttle.py) and Organizations at the emulator's (5 per second, burst 10).
WATCH_MEMBERS = 200
WATCH_REGIONS = FAN_IN_REGIONS
WATCH_RESIGNED = 10
WATCH_REMOVED = 5
FAN_IN_ANSWER_MARGIN_S = 60  # how much longer than the deadline the bench waits for an answer

TARGETS = {
    "speedup_17": 8.0,  # sequential / parallel, at least
    "bound_ratio": 1.5,  # parallel / critical-path bound, at most
    "detection_s": 2.0,  # creation noticed within
    "cold_start_ms": 50.0,  # median, below
    "memory_mb": 40.0,  # peak RSS of a 34-region Create, below
    "package_mb": 10.0,  # dist/bootstrap.zip, below (MiB)
    "fan_in_bound_ratio": 1.3,  # fan-in wall time / rate-limit bound, at most
    "fan_in_admin_calls": 3.2,  # administrator calls served per enrollment per region, at most
    "assumed_chain": 8,  # round trips on the longest chain, administrator through AssumeRole, at most
}

# The longest dependent chain of a Create of an existing account, from the code (see CHAIN_TEXT). Setup: the
# sessions (AssumeRole) then each account's ListRegions; the origin check (DescribeStacks beside
# DescribeStackResource: 1 trip, the stack being in the provider's own account) runs beside them, so it adds none.
# Then per region: CreateMembers in every region first (its own fan-out), then the rest of the join; the fence's
# re-read of the stack (DescribeStacks beside DescribeStackResource) runs beside the last GetMembers: no trip.
SETUP_TRIPS = ["AssumeRole", "ListRegions"]
ORIGIN_TRIPS = ["DescribeStacks"]
REGION_TRIPS = ["CreateMembers", "InviteMembers", "ListInvitations", "AcceptAdministratorInvitation", "GetMembers"]
ADD_TRIPS = REGION_TRIPS[:1]  # lifecycle.rs `join_regions`: membership::add in every region, awaited as a whole
JOIN_TRIPS = REGION_TRIPS[1:]  # ... then membership::join per region
FINISH_TRIPS = ["PutObject"]
# The administrator's Security Hub calls of one region's join (membership.rs): the least the API allows.
ADMIN_REGION_CALLS = ["CreateMembers", "InviteMembers", "GetMembers"]
CHAIN_TEXT = """\
A Create of an existing account, as the code does it (src/enrollment/lifecycle.rs `create`, `prepare` and
`join_regions`, src/aws.rs `session`, src/enrollment/gate.rs `verify_origin` and `deletion_begun`,
src/enrollment/membership.rs `add` and `join`):

1. setup, all at once: each side's session, then that account's Account ListRegions; the member's session is
   an STS AssumeRole, and so is the administrator's when it is not the provider's own account (the provider's
   own account comes from the invoked function's ARN: as the administrator it needs no STS call); beside them
   the origin check, CloudFormation DescribeStacks beside DescribeStackResource of the request's stack (1 trip:
   the stack is in the provider's own account, read with its own credentials; a stack in another account adds
   an AssumeRole there, 2 trips, no longer than the sides). 2 trips, whether or not the administrator is the
   provider's own account. No DescribeHub: a region where the administrator has no hub answers CreateMembers
   InvalidAccessException, which names it;
2. administrator CreateMembers in every region at once (1 trip), awaited as a whole;
3. then per region, all regions at once: administrator InviteMembers beside the member's EnableSecurityHub;
   the member's ListInvitations beside GetAdministratorAccount; AcceptAdministratorInvitation; administrator
   GetMembers (confirm Enabled), beside which, once every region has accepted, the fence re-reads the
   request's stack (DescribeStacks beside DescribeStackResource: no extra trip). 4 trips; the administrator's
   Security Hub calls per region are CreateMembers, InviteMembers and GetMembers, the API's least;
4. the response PUT to the presigned S3 URL (CloudFormation waits for it).

Longest dependent chain: AssumeRole -> ListRegions -> CreateMembers -> InviteMembers -> ListInvitations ->
AcceptAdministratorInvitation -> GetMembers -> PutObject = 8 round trips, whatever the number of regions, when
every region runs at once: bound = 8 x 200 ms = 1.6 s. With at most C regions at once (MAX_CONCURRENT_REGIONS,
default 64; a region starts as another ends) step 2 takes ceil(N / C) waves of 1 trip and step 3 ceil(N / C)
waves of 4 trips: 2 + 5 x ceil(N / C) + 1 round trips."""


# --- small helpers ------------------------------------------------------------------------------------------------


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("PASS" if ok else "MISS")


def bound_trips(regions: int, concurrency: int | None = None) -> int:
    """Round trips on the critical path; `concurrency` None = every region at once."""
    waves = 1 if concurrency is None else math.ceil(regions / max(1, min(concurrency, regions)))
    # CreateMembers in every region (waves), awaited, then the join (waves again); the fence's read (1 trip)
    # runs beside the last wave's GetMembers.
    return (
        max(len(SETUP_TRIPS), len(ORIGIN_TRIPS)) + waves * len(ADD_TRIPS) + waves * len(JOIN_TRIPS) + len(FINISH_TRIPS)
    )


def longest_chain(calls: list[dict]) -> list[dict]:
    """The largest set of pairwise non-overlapping calls (earliest end first): the round trips the request
    really waited for one after the other."""
    chain, last_end = [], -math.inf
    for call in sorted(calls, key=lambda c: c["end"]):
        if call["start"] >= last_end:
            chain.append(call)
            last_end = call["end"]
    return chain


def show_path(path: pathlib.Path) -> str:
    """A path as it may appear in a committed file: relative to the repository, else its name only."""
    try:
        return str(path.resolve().relative_to(REPO))
    except ValueError:
        return f"<outside the repository>/{path.name}"


def cpu_model() -> str:
    try:
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time a live process has used so far."""
    try:
        fields = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def peak_rss_kb(pid: int) -> int | None:
    """VmHWM (peak resident set) of a live process, in kB."""
    try:
        for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


# --- the binary ---------------------------------------------------------------------------------------------------


@dataclasses.dataclass
class Binary:
    path: pathlib.Path
    origin: str  # how it was chosen, for the report

    def __post_init__(self) -> None:
        self.path = self.path.resolve()  # the provider runs in a scratch directory


def find_binary(explicit: str | None, scratch: pathlib.Path) -> Binary:
    if explicit:
        return Binary(require_binary(explicit), "--binary")
    if os.environ.get("BOOTSTRAP_BINARY"):
        return Binary(require_binary(os.environ["BOOTSTRAP_BINARY"]), "BOOTSTRAP_BINARY")
    for candidate, origin in (
        (REPO / "target/release/bootstrap", "cargo build --release"),
        (REPO / "target/package/x86_64-unknown-linux-gnu/release/bootstrap", "make package, unzipped build"),
    ):
        if candidate.is_file():
            return Binary(require_binary(candidate), origin)
    package = REPO / "dist/bootstrap.zip"
    if package.is_file():
        with zipfile.ZipFile(package) as archive:
            archive.extract("bootstrap", scratch)
        extracted = scratch / "bootstrap"
        extracted.chmod(0o755)
        return Binary(require_binary(extracted), "extracted from dist/bootstrap.zip")
    sys.exit(
        "bench: no bootstrap binary. Build one with `make package` (dist/bootstrap.zip) or "
        "`cargo build --release`, or point BOOTSTRAP_BINARY (or --binary) at one."
    )


# --- the bench rig ------------------------------------------------------------------------------------------------


@dataclasses.dataclass
class Run:
    """One Create, as the bench saw it."""

    regions: int
    concurrency: int | None
    elapsed_s: float  # invoke -> the runtime's answer (the response PUT done before it)
    calls: list[dict]  # the emulator's call log for this request
    peak_rss_kb: int | None
    response: dict
    cpu_s: float | None = None  # the provider's CPU time for the request
    invoked_at: float = 0.0  # time.time() of the invocation
    administrator: str = ADMIN

    @property
    def first_call_ms(self) -> float:
        """Invocation to the first AWS call (event delivery, credentials and SDK set-up)."""
        return (min(c["start"] for c in self.calls) - self.invoked_at) * 1000 if self.calls else float("nan")

    @property
    def chain(self) -> list[dict]:
        return longest_chain(self.calls)

    def count(self, operation: str) -> int:
        return sum(1 for c in self.calls if c["operation"] == operation)

    @property
    def admin_securityhub(self) -> dict[str, int]:
        """The administrator's Security Hub calls in the call log, per operation."""
        counts: dict[str, int] = {}
        for c in self.calls:
            if c["service"] == "securityhub" and c["account"] == self.administrator:
                counts[c["operation"]] = counts.get(c["operation"], 0) + 1
        return counts

    @property
    def admin_calls_per_region(self) -> float:
        return sum(self.admin_securityhub.values()) / self.regions


@dataclasses.dataclass
class FanIn:
    """What the fan-in scenario saw (`Rig.fan_in`)."""

    members: int
    regions: list[str]
    rate_per_s: float
    burst: int
    latency_ms: float
    elapsed_s: float  # first invocation to the last runtime answer
    statuses: dict[str, int]  # response Status -> count ("none" when nothing was PUT)
    enabled: int  # (member, region) pairs Enabled on both sides afterwards
    admin_served: int  # the administrator's Security Hub calls that took a token
    admin_throttled: int  # ... and those answered LimitExceededException by its bucket
    admin_operations: dict[str, int]  # served administrator calls per operation
    reasons: list[str]  # a few FAILED reasons, as answered
    answered_once: bool  # exactly one runtime answer and one response PUT per request
    binary: str
    date: str

    @property
    def bound_s(self) -> float:
        """The rate-limit bound: each region's bucket must serve members x the API's least administrator calls."""
        return self.members * FAN_IN_MIN_ADMIN_CALLS / self.rate_per_s

    @property
    def admin_calls_per_enrollment(self) -> float:
        return self.admin_served / (self.members * len(self.regions))

    @property
    def success(self) -> int:
        return self.statuses.get("SUCCESS", 0)


@dataclasses.dataclass
class WatchRun:
    """What one membership-watch run saw (`Rig.watch`)."""

    members: int
    regions: list[str]  # where the members are (the administrator's hubs)
    enabled_regions: int  # regions enabled for the administrator: the watch asks each
    departed: int  # (member, region) pairs set up as left
    latency_ms: float
    elapsed_s: float  # invocation to the runtime answer
    calls: dict[str, int]  # "service Operation" -> calls made, from the emulator's call log
    throttled: dict[str, int]  # service -> answers throttled by its token bucket
    metrics: dict  # the run's metrics line
    reported: int  # "member no longer enabled" lines
    binary: str
    date: str

    @property
    def pages_bound(self) -> int:
        """ListMembers calls the design expects: ceil(members / 50) pages in each region with members, one call in
        each other enabled region (no hub)."""
        return len(self.regions) * math.ceil(self.members / 50) + self.enabled_regions - len(self.regions)


class Rig:
    def __init__(self, binary: Binary, scratch: pathlib.Path):
        self.binary = binary
        self.scratch = scratch
        self._accounts = 0
        self._providers = 0
        self._hubs: set[tuple[str, str]] = set()  # (administrator, region) enabled by `administrator_hubs`
        self.server = bench_emulator.start(scratch / "emulator")
        try:
            self.aws = Emulator(self.server.url)
            self.aws.reset()
            listed = self.aws.client("account").list_regions(
                RegionOptStatusContains=["ENABLED", "ENABLED_BY_DEFAULT"], MaxResults=50
            )["Regions"]
            self.all_regions = sorted(r["RegionName"] for r in listed)
            if len(self.all_regions) < max(REGION_COUNTS):
                raise RuntimeError(
                    f"the emulator offers {len(self.all_regions)} enabled regions, the bench needs "
                    f"{max(REGION_COUNTS)} (scripts/bench_emulator.py opts in the opt-in regions)"
                )
            for region in self.all_regions:
                self.aws.enable_hub(ADMIN, region)
            self.aws.create_organization()
            Cfn(self.aws, None).ensure_bucket()
            self._warm(ADMIN, self.all_regions)
            self.aws.client("cloudformation", ADMIN).describe_stacks()  # moto's CloudFormation routes
            self._warm(f"{199999999999:012d}", self.all_regions)  # Security Hub routes, as any member
        except BaseException:
            self.server.stop()
            raise

    def close(self) -> None:
        self.server.stop()

    # -- emulator upkeep -----------------------------------------------------------------------------------------

    def _warm(self, account: str, regions: list[str] | None = None) -> None:
        """moto builds its routes on a service's first requests and an account's backends on that account's
        first requests (some 100s of ms: EC2's default VPCs...): do that before the clock runs, latency off."""
        self.aws.configure(latency_ms=0)
        self.aws.client("account", account).list_regions(MaxResults=50)
        for region in regions or []:
            try:
                self.aws.client("securityhub", account, region).describe_hub()
            except Exception:  # noqa: BLE001 - no hub yet is the point; only the warm-up matters
                pass

    def administrator_hubs(self, account: str, regions: list[str]) -> None:
        """An administrator other than ADMIN (the provider's own account): hubs enabled in `regions`, and
        warmed there as ADMIN is, once per region."""
        todo = [r for r in regions if (account, r) not in self._hubs]
        if todo:
            for region in todo:
                self.aws.enable_hub(account, region)
            self._warm(account, todo)
            self._hubs.update((account, r) for r in todo)

    def fresh_member(self) -> str:
        self._accounts += 1
        account = f"{200000000000 + self._accounts:012d}"
        self._warm(account)
        return account

    def calls_since(self, seq: int, until: float) -> list[dict]:
        """The finished calls after `seq` that started by `until`, S3 included (the response PUT is on the path)."""
        return [c for c in self.aws.calls(seq) if c["end"] is not None and c["start"] <= until]

    # -- providers -----------------------------------------------------------------------------------------------

    def provider(self, concurrency: int | None = None) -> tuple[RuntimeApi, Provider]:
        self._providers += 1
        api = RuntimeApi()
        env = {"MAX_CONCURRENT_REGIONS": str(concurrency)} if concurrency else None
        try:
            provider = Provider(
                self.binary.path,
                api,
                self.server.url,
                env_overrides=env,
                log_path=self.scratch / f"bootstrap-{self._providers}.log",
            )
        except Exception:
            api.close()
            raise
        api.wait_next_requests(1, START_TIMEOUT_S)
        return api, provider

    def create(
        self,
        props: dict,
        *,
        regions: int,
        concurrency: int | None = None,
        latency_ms: float = LATENCY_MS,
        measure_memory: bool = False,
        before: Callable[[], None] | None = None,
    ) -> Run:
        api, provider = self.provider(concurrency)
        try:
            cfn = Cfn(self.aws, api, provider)
            cfn._bucket_ready = True
            event, key = cfn.event("Create", props)
            cfn.hold(event)  # the control API: no latency, no call in the log
            if before:
                before()
            self.aws.configure(latency_ms=latency_ms)
            seq = self.aws.last_seq()
            cpu_before = cpu_seconds(provider.pid)
            request_id = api.invoke(event, deadline_s=900)
            result = api.wait_result(request_id, REQUEST_TIMEOUT_S)
            started = api.invocation(request_id).queued_at
            rss = peak_rss_kb(provider.pid) if measure_memory else None
            cpu_after = cpu_seconds(provider.pid)
            cpu = cpu_after - cpu_before if cpu_before is not None and cpu_after is not None else None
            self.aws.configure(latency_ms=0)
            calls = self.calls_since(seq, until=result.received_at)
            raw = cfn.read_response(key)
            response = json.loads(raw) if raw else {}
            if response.get("Status") != "SUCCESS":
                raise RuntimeError(f"Create did not succeed: {response or result.body[:500]!r}\n{provider.tail(20)}")
            return Run(
                regions,
                concurrency,
                result.received_at - started,
                calls,
                rss,
                response,
                cpu,
                started,
                props.get("AdministratorAccountId", ADMIN),
            )
        finally:
            provider.stop()
            api.close()

    def enroll(
        self, regions: int, concurrency: int | None = None, measure_memory: bool = False, administrator: str = ADMIN
    ) -> Run:
        wanted = self.regions(regions)
        if administrator != ADMIN:
            self.administrator_hubs(administrator, wanted)
        member = self.fresh_member()
        run = self.create(
            {"AdministratorAccountId": administrator, "AccountId": member, "Regions": wanted},
            regions=regions,
            concurrency=concurrency,
            measure_memory=measure_memory,
        )
        got = run.response.get("Data", {}).get("Regions", "")
        if got != ",".join(sorted(wanted)):
            raise RuntimeError(f"Create answered Regions {got!r}, expected {len(wanted)} regions")
        return run

    def regions(self, count: int) -> list[str]:
        if count > len(self.all_regions):
            raise RuntimeError(f"{count} regions wanted, the emulator offers {len(self.all_regions)}")
        return self.all_regions[:count]

    def detection(self, delay_s: float, index: int) -> dict:
        """Create a new account whose creation takes `delay_s`; how long after it finished the provider knew."""
        props = {
            "AdministratorAccountId": ADMIN,
            "AccountName": f"Bench{index}",
            "Email": f"bench-{index}-{int(time.time())}@example.com",
            "Regions": self.regions(1),
        }
        run = self.create(props, regions=1, before=lambda: self.aws.configure(create_account_delay_s=delay_s))
        self.aws.configure(create_account_delay_s=0)
        polls = [c for c in run.calls if c["operation"] == "DescribeCreateAccountStatus"]
        if not polls:
            raise RuntimeError("no DescribeCreateAccountStatus call in the call log")
        organizations = self.aws.client("organizations")
        statuses = organizations.list_create_account_status(States=["SUCCEEDED"])["CreateAccountStatuses"]
        account = run.response.get("PhysicalResourceId")
        finished = next(s["CompletedTimestamp"] for s in statuses if s.get("AccountId") == account)
        finished = finished.timestamp() if hasattr(finished, "timestamp") else float(finished)
        created = next(c for c in run.calls if c["operation"] == "CreateAccount")
        # The provider stops polling once it sees SUCCEEDED: the last poll is the first that saw it.
        seen = polls[-1]
        return {
            "delay_s": delay_s,
            "lag_s": seen["end"] - finished,
            "polls": len(polls),
            "finished_after_s": finished - created["end"],
            "poll_offsets": [round(p["start"] - created["end"], 2) for p in polls],
        }

    def cold_starts(self, count: int) -> list[float]:
        out = []
        for _ in range(count):
            api = RuntimeApi()
            try:
                provider = Provider(
                    self.binary.path, api, self.server.url, log_path=self.scratch / "bootstrap-cold.log"
                )
                try:
                    api.wait_next_requests(1, START_TIMEOUT_S)
                    out.append((api.next_times[0] - provider.started_at) * 1000)
                finally:
                    provider.stop()
            finally:
                api.close()
        return out

    def fan_in(
        self,
        members: int = FAN_IN_MEMBERS,
        regions: list[str] | None = None,
        rate_per_s: float = FAN_IN_RATE_PER_S,
        burst: int = FAN_IN_BURST,
        latency_ms: float = LATENCY_MS,
    ) -> FanIn:
        """`members` Creates at once, one provider process and Runtime API stand-in each, of existing accounts
        into FAN_IN_ADMIN in `regions`, its Security Hub behind a token bucket of `rate_per_s` and `burst`."""
        regions = list(regions or FAN_IN_REGIONS)
        for region in regions:
            self.aws.enable_hub(FAN_IN_ADMIN, region)
        self._warm(FAN_IN_ADMIN, regions)
        accounts = [self.fresh_member() for _ in range(members)]
        for account in accounts:
            self._warm(account, regions)
        started_providers: list[tuple[RuntimeApi, Provider]] = []
        try:
            requests = []
            for account in accounts:
                api, provider = self.provider()
                started_providers.append((api, provider))
                cfn = Cfn(self.aws, api, provider)
                cfn._bucket_ready = True  # made by the rig
                event, key = cfn.event(
                    "Create", {"AdministratorAccountId": FAN_IN_ADMIN, "AccountId": account, "Regions": regions}
                )
                cfn.hold(event)  # the control API: no latency, not throttled, not counted
                requests.append((api, cfn, event, key))
            before = self.aws.call_counts("securityhub", FAN_IN_ADMIN)
            seq = self.aws.last_seq()
            self.aws.configure(
                latency_ms=latency_ms,
                token_buckets=["securityhub"],
                securityhub_rate_per_s=rate_per_s,
                securityhub_burst=burst,
            )
            started = time.time()
            invoked = [
                (api, cfn, event, key, api.invoke(event, deadline_s=FAN_IN_DEADLINE_S))
                for api, cfn, event, key in requests
            ]
            results = [
                api.wait_result(rid, FAN_IN_DEADLINE_S + FAN_IN_ANSWER_MARGIN_S) for api, _, _, _, rid in invoked
            ]
            elapsed = max(r.received_at for r in results) - started
        finally:
            self.aws.configure(latency_ms=0, token_buckets=[])
            for api, provider in started_providers:
                provider.stop()
                api.close()
        after = self.aws.call_counts("securityhub", FAN_IN_ADMIN)
        served, throttled = _count_delta(before, after)
        bodies = []
        for _, cfn, _, key, _ in invoked:
            raw = cfn.read_response(key)
            bodies.append(json.loads(raw) if raw else {})
        statuses: dict[str, int] = {}
        for body in bodies:
            statuses[body.get("Status", "none")] = statuses.get(body.get("Status", "none"), 0) + 1
        state = self.aws.state()
        enabled = sum(
            1
            for account in accounts
            for region in regions
            if state.get(FAN_IN_ADMIN, {}).get(region, {}).get("members", {}).get(account) == "Enabled"
            and state.get(account, {}).get(region, {}).get("administrator") == FAN_IN_ADMIN
        )
        keys = {f"/{cfn.bucket}/{key}" for _, cfn, _, key, _ in invoked}
        puts = [
            c["path"]
            for c in self.aws.calls(seq)
            if c["service"] == "s3" and c["method"] == "PUT" and c["fault"] is None and c["path"] in keys
        ]
        answered_once = all(len(api.posts) == 1 for api, _, _, _, _ in invoked) and sorted(puts) == sorted(keys)
        reasons = [b.get("Reason", "") for b in bodies if b.get("Status") != "SUCCESS"][:3]
        return FanIn(
            members,
            regions,
            rate_per_s,
            burst,
            latency_ms,
            elapsed,
            statuses,
            enabled,
            sum(served.values()),
            sum(throttled.values()),
            served,
            reasons,
            answered_once,
            f"`{show_path(self.binary.path)}` ({self.binary.origin})",
            time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        )

    def watch(
        self, members: int = WATCH_MEMBERS, regions: list[str] | None = None, latency_ms: float = LATENCY_MS
    ) -> WatchRun:
        """One membership-watch run over `members` organization accounts, Enabled members of FAN_IN_ADMIN in
        `regions` and marked as this provider's, WATCH_RESIGNED of them resigned and WATCH_REMOVED removed."""
        regions = list(regions or WATCH_REGIONS)
        self.administrator_hubs(FAN_IN_ADMIN, regions)
        stamp = int(time.time())
        accounts = [self.aws.create_account(f"watch-{i}", f"watch-{i}-{stamp}@example.com") for i in range(members)]
        for region in regions:
            self._join_all(FAN_IN_ADMIN, accounts, region)
        self._mark_all(FAN_IN_ADMIN, accounts, regions, WATCH_RESIGNED + WATCH_REMOVED)
        for account in accounts[:WATCH_RESIGNED]:
            self.aws.client("securityhub", account, regions[0]).disassociate_from_administrator_account()
        removed = accounts[WATCH_RESIGNED : WATCH_RESIGNED + WATCH_REMOVED]
        self.aws.client("securityhub", FAN_IN_ADMIN, regions[-1]).disassociate_members(AccountIds=removed)
        enabled = self.aws.client("account", FAN_IN_ADMIN).list_regions(
            RegionOptStatusContains=["ENABLED", "ENABLED_BY_DEFAULT"], MaxResults=50
        )["Regions"]
        self._warm(FAN_IN_ADMIN, [r["RegionName"] for r in enabled])
        api = RuntimeApi()
        self._providers += 1
        provider = Provider(
            self.binary.path,
            api,
            self.server.url,
            env_overrides={"ADMINISTRATOR_ACCOUNT_IDS": FAN_IN_ADMIN},
            log_path=self.scratch / f"bootstrap-{self._providers}.log",
        )
        try:
            api.wait_next_requests(1, START_TIMEOUT_S)
            before, seq = self.aws.call_counts(), self.aws.last_seq()
            self.aws.configure(
                latency_ms=latency_ms,
                token_buckets=["securityhub", "organizations"],
                securityhub_rate_per_s=10.0,
                securityhub_burst=30,
                organizations_rate_per_s=5.0,
                organizations_burst=10,
            )
            rid = api.invoke(WATCH_EVENT, deadline_s=FAN_IN_DEADLINE_S)
            result = api.wait_result(rid, FAN_IN_DEADLINE_S + FAN_IN_ANSWER_MARGIN_S)
            elapsed = result.received_at - api.invocation(rid).queued_at
            records = provider.log_records()
        finally:
            self.aws.configure(latency_ms=0, token_buckets=[])
            provider.stop()
            api.close()
        calls: dict[str, int] = {}
        for call in self.calls_since(seq, result.received_at):
            if call["service"] != "s3":
                name = f"{call['service']} {call['operation']}"
                calls[name] = calls.get(name, 0) + 1
        after = self.aws.call_counts()
        throttled = {
            service: sum(
                _count_delta(
                    [r for r in before if r["service"] == service], [r for r in after if r["service"] == service]
                )[1].values()
            )
            for service in ("securityhub", "organizations", "sts")
        }
        lines = [r for r in records if "_aws" in r and r.get("RequestType") == "Watch"]
        reported = sum(1 for r in records if r.get("fields", {}).get("message") == "member no longer enabled")
        if not lines:
            raise RuntimeError(f"the watch wrote no metrics line ({result.kind}): {provider.tail(20)}")
        return WatchRun(
            members,
            regions,
            len(enabled),
            WATCH_RESIGNED + WATCH_REMOVED,
            latency_ms,
            elapsed,
            calls,
            throttled,
            lines[-1],
            reported,
            f"`{show_path(self.binary.path)}` ({self.binary.origin})",
            time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        )

    def _join_all(self, admin: str, accounts: list[str], region: str) -> None:
        """Every account an Enabled member of `admin` in `region`, as it would have joined by invitation (set-up,
        latency off, no token bucket)."""
        hub = self.aws.client("securityhub", admin, region)
        for start in range(0, len(accounts), 50):
            chunk = accounts[start : start + 50]
            hub.create_members(AccountDetails=[{"AccountId": account} for account in chunk])
            hub.invite_members(AccountIds=chunk)
        for account in accounts:
            self.aws.enable_hub(account, region)
            member = self.aws.client("securityhub", account, region)
            invitation = next(i for i in member.list_invitations()["Invitations"] if i["AccountId"] == admin)
            member.accept_administrator_invitation(AdministratorId=admin, InvitationId=invitation["InvitationId"])

    def _mark_all(self, admin: str, accounts: list[str], regions: list[str], held: int) -> None:
        """The watch's mark (src/enrollment/mark.rs) on every account, as a Create writes it; the first `held`
        accounts' resources (those that will leave, which the watch confirms) held at rest in one real stack."""
        stack = self.aws.hold_stack(ADMIN, "us-east-1", "Member0")
        for index in range(1, held):
            self.aws.hold_stack(ADMIN, "us-east-1", f"Member{index}", stack_id=stack)
        self.aws.stage_stack(
            stack, "CREATE_COMPLETE", physical_ids={f"Member{i}": account for i, account in enumerate(accounts[:held])}
        )
        organizations = self.aws.client("organizations")
        prefix = f"{MARK_PREFIX}{admin}:"
        for index, account in enumerate(accounts):
            mark = {
                "stack-id": stack,
                "logical-id": f"Member{index}",
                "regions": ",".join(sorted(regions)),
                "settings": "MemberRoleName=OrganizationAccountAccessRole;EnableDefaultStandards=true",
            }
            organizations.tag_resource(
                ResourceId=account, Tags=[{"Key": prefix + key, "Value": value} for key, value in mark.items()]
            )


def _count_delta(before: list[dict], after: list[dict]) -> tuple[dict[str, int], dict[str, int]]:
    """Served and throttled calls per operation between two `call_counts` snapshots."""

    def by_operation(rows: list[dict], field: str) -> dict[str, int]:
        out: dict[str, int] = {}
        for row in rows:
            out[row["operation"]] = out.get(row["operation"], 0) + row[field]
        return out

    delta = []
    for field in ("served", "throttled"):
        old, new = by_operation(before, field), by_operation(after, field)
        delta.append({op: n - old.get(op, 0) for op, n in new.items() if n - old.get(op, 0)})
    return delta[0], delta[1]


# --- the report ---------------------------------------------------------------------------------------------------


@dataclasses.dataclass
class Results:
    binary: Binary
    parallel: dict[int, list[Run]]
    sequential: dict[int, list[Run]]
    what_if: dict[int, Run]
    detections: list[dict]
    cold_ms: list[float]
    memory_kb: int | None
    package_bytes: int | None
    seconds: float
    load: tuple[str, str]  # load average at the start and at the end
    fan_in: FanIn | None = None
    assumed: list[Run] = dataclasses.field(default_factory=list)  # ASSUMED_REGIONS, administrator FAN_IN_ADMIN
    watch: WatchRun | None = None

    def par(self, n: int) -> float:
        return median([r.elapsed_s for r in self.parallel.get(n, [])])

    def seq(self, n: int) -> float:
        return median([r.elapsed_s for r in self.sequential.get(n, [])])

    @staticmethod
    def bound(n: int) -> float:
        return bound_trips(n) * LATENCY_MS / 1000

    def summary(self) -> list[list[str]]:
        """[figure, value, target, verdict] rows."""
        rows = []
        for n in REGION_COUNTS:
            if not self.parallel.get(n):
                continue
            par, bound = self.par(n), self.bound(n)
            plural = "s" if n > 1 else ""
            rows.append([f"{n} region{plural}: Create, median of {len(self.parallel[n])}", f"{par:.2f} s", "", ""])
            if self.sequential.get(n):
                speed = self.seq(n) / par
                targeted = n == 17
                rows.append(
                    [
                        f"{n} region{plural}: sequential / parallel",
                        f"{speed:.1f}x",
                        f">= {TARGETS['speedup_17']:.0f}x" if targeted else "",
                        verdict(speed >= TARGETS["speedup_17"]) if targeted else "",
                    ]
                )
            ratio, targeted = par / bound, n in (17, 34)
            rows.append(
                [
                    f"{n} region{plural}: parallel / bound ({bound:.1f} s)",
                    f"{ratio:.2f}x",
                    f"<= {TARGETS['bound_ratio']}x" if targeted else "",
                    verdict(ratio <= TARGETS["bound_ratio"]) if targeted else "",
                ]
            )
        if self.assumed:
            rows += assumed_summary(self.assumed)
        if self.detections:
            lags = [d["lag_s"] for d in self.detections]
            for name, value in (("median", median(lags)), ("max", max(lags))):
                rows.append(
                    [
                        f"Account creation noticed after it finished, {name} of {len(lags)}",
                        f"{value:.2f} s",
                        f"<= {TARGETS['detection_s']:.0f} s",
                        verdict(value <= TARGETS["detection_s"]),
                    ]
                )
        if self.cold_ms:
            rows.append(
                [
                    f"Cold start to first `next`, median of {len(self.cold_ms)}",
                    f"{median(self.cold_ms):.1f} ms",
                    f"< {TARGETS['cold_start_ms']:.0f} ms",
                    verdict(median(self.cold_ms) < TARGETS["cold_start_ms"]),
                ]
            )
        if self.parallel.get(34):
            mb = self.memory_kb / 1024 if self.memory_kb else None
            rows.append(
                [
                    "Peak RSS (VmHWM), 34-region Create",
                    f"{mb:.1f} MiB" if mb else "n/a",
                    f"< {TARGETS['memory_mb']:.0f} MiB",
                    verdict(mb < TARGETS["memory_mb"] if mb else None),
                ]
            )
        if self.fan_in:
            rows += fan_in_summary(self.fan_in)
        if self.watch:
            rows += watch_summary(self.watch)
        mb = self.package_bytes / 2**20 if self.package_bytes is not None else None
        rows.append(
            [
                "dist/bootstrap.zip",
                f"{self.package_bytes:,} B ({mb:.2f} MiB)" if mb is not None else "not built",
                f"< {TARGETS['package_mb']:.0f} MiB",
                verdict(mb < TARGETS["package_mb"] if mb is not None else None),
            ]
        )
        return rows


def assumed_summary(runs: list[Run]) -> list[list[str]]:
    """[figure, value, target, verdict] rows of the Creates into an administrator entered through AssumeRole."""
    n = runs[0].regions
    run, bound = median_run(runs), bound_trips(n) * LATENCY_MS / 1000
    par = median([r.elapsed_s for r in runs])
    chain = len(run.chain)
    name = f"{n} regions, administrator via AssumeRole"
    return [
        [f"{name}: Create, median of {len(runs)}", f"{par:.2f} s", "", ""],
        [f"{name}: parallel / bound ({bound:.1f} s, {bound_trips(n)} trips)", f"{par / bound:.2f}x", "", ""],
        [
            f"{name}: longest chain (median run)",
            f"{chain} round trips",
            f"<= {TARGETS['assumed_chain']} round trips",
            verdict(chain <= TARGETS["assumed_chain"]),
        ],
        [
            f"{name}: administrator's Security Hub calls per region",
            f"{run.admin_calls_per_region:.2f}",
            f"{len(ADMIN_REGION_CALLS)}, the API's least",
            "",
        ],
    ]


def assumed_lines(runs: list[Run]) -> list[str]:
    """The detailed section's paragraph on the Creates into an administrator entered through AssumeRole."""
    n = runs[0].regions
    run, bound = median_run(runs), bound_trips(n) * LATENCY_MS / 1000
    admin = ", ".join(f"{op} {k}" for op, k in sorted(run.admin_securityhub.items()))
    return [
        f"An existing account with `Regions` listed ({n} regions) into an administrator that is not the provider's "
        f"own account ({runs[0].administrator}, entered through AssumeRole, its hubs enabled and warmed as the "
        f"provider's own are): median {median([r.elapsed_s for r in runs]):.2f} s of {len(runs)} "
        f"({', '.join(f'{r.elapsed_s:.2f}' for r in runs)}), bound {bound:.1f} s ({bound_trips(n)} trips); the "
        f"median run's chain, {len(run.chain)} round trips:",
        "",
        "    " + " -> ".join(c["operation"] for c in run.chain),
        "",
        f"The administrator's Security Hub calls in it: {admin or 'none'} = {run.admin_calls_per_region:.2f} per "
        f"region (the least the API allows: {', '.join(ADMIN_REGION_CALLS)}).",
        "",
    ]


def table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(x)) for x in [h, *(r[i] for r in rows)]) for i, h in enumerate(headers)]

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    return "\n".join([line(headers), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(line, rows)])


def median_run(runs: list[Run]) -> Run:
    return sorted(runs, key=lambda r: r.elapsed_s)[len(runs) // 2]


def op_counts(run: Run) -> str:
    counts: dict[str, int] = {}
    for c in run.calls:
        counts[c["operation"]] = counts.get(c["operation"], 0) + 1
    return ", ".join(f"{op} {n}" for op, n in counts.items())


def gaps_ms(run: Run) -> float:
    """Time on the chain between calls (after the first call): the provider's and the emulator's own work."""
    chain = run.chain
    return sum(max(0.0, b["start"] - a["end"]) for a, b in itertools.pairwise(chain)) * 1000


def extra_ms(run: Run) -> float:
    """Median call duration beyond the injected latency: the emulator's own time per call."""
    return median([(c["end"] - c["start"]) * 1000 - LATENCY_MS for c in run.calls])


ENROLLMENT_HEADERS = [
    "regions",
    "parallel, median (runs)",
    "sequential (runs)",
    "bound (trips)",
    f"bound at {DEFAULT_CONCURRENCY} (trips)",
    "chain",
    "seq / par",
    "par / bound",
]


def enrollment_rows(res: Results) -> list[list[str]]:
    rows = []
    for n in REGION_COUNTS:
        runs = res.parallel.get(n)
        if not runs:
            continue
        par, bound = res.par(n), res.bound(n)
        seq = res.seq(n) if res.sequential.get(n) else None
        rows.append(
            [
                str(n),
                f"{par:.2f} s ({', '.join(f'{r.elapsed_s:.2f}' for r in runs)})",
                f"{seq:.2f} s ({len(res.sequential[n])})" if seq else "-",
                f"{bound:.1f} s ({bound_trips(n)})",
                f"{bound_trips(n, DEFAULT_CONCURRENCY) * LATENCY_MS / 1000:.1f} s "
                f"({bound_trips(n, DEFAULT_CONCURRENCY)})",
                str(len(median_run(runs).chain)),
                f"{seq / par:.1f}x" if seq else "-",
                f"{par / bound:.2f}x",
            ]
        )
    return rows


WHAT_IF_HEADERS = [
    "regions",
    f"MAX_CONCURRENT_REGIONS={WHAT_IF_CONCURRENCY}",
    "chain",
    "seq / it",
    "it / bound",
    "peak RSS",
]


def what_if_rows(res: Results) -> list[list[str]]:
    rows = []
    for n, run in sorted(res.what_if.items()):
        seq = res.seq(n) if res.sequential.get(n) else None
        rows.append(
            [
                str(n),
                f"{run.elapsed_s:.2f} s",
                str(len(run.chain)),
                f"{seq / run.elapsed_s:.1f}x" if seq else "-",
                f"{run.elapsed_s / res.bound(n):.2f}x",
                f"{run.peak_rss_kb / 1024:.1f} MiB" if run.peak_rss_kb else "-",
            ]
        )
    return rows


def misses_explained(res: Results) -> list[str]:
    out = []
    for n in (17, 34):
        if not res.parallel.get(n) or n <= DEFAULT_CONCURRENCY:
            continue
        speed_miss = n == 17 and res.sequential.get(n) and res.seq(n) / res.par(n) < TARGETS["speedup_17"]
        if res.par(n) / res.bound(n) <= TARGETS["bound_ratio"] and not speed_miss:
            continue
        waves = math.ceil(n / DEFAULT_CONCURRENCY)
        line = (
            f"- {n} regions: at most {DEFAULT_CONCURRENCY} regions run at once by default, so the CreateMembers step "
            f"and the {len(JOIN_TRIPS)}-trip join step each run in {waves} waves: "
            f"{bound_trips(n, DEFAULT_CONCURRENCY)} round "
            f"trips on the path instead of {bound_trips(n)} (the call log's longest chain: "
            f"{len(median_run(res.parallel[n]).chain)})."
        )
        if speed_miss:
            line += " The sequential / parallel ratio is capped the same way."
        run = res.what_if.get(n)
        if run:
            ok = run.elapsed_s / res.bound(n) <= TARGETS["bound_ratio"]
            line += (
                f" With MAX_CONCURRENT_REGIONS={WHAT_IF_CONCURRENCY} (table below) the same "
                f"binary takes {run.elapsed_s:.2f} s, {run.elapsed_s / res.bound(n):.2f}x the bound"
                f"{' (within the target)' if ok else ''}."
            )
        out.append(line)
    if res.detections and max(d["lag_s"] for d in res.detections) > TARGETS["detection_s"]:
        interval = max(b - a for d in res.detections for a, b in itertools.pairwise(d["poll_offsets"]))
        out.append(
            f"- Account creation: polls were up to {interval:.1f} s apart, start to start (the provider's pause "
            f"after a poll plus the poll's own {LATENCY_MS} ms), so a creation that finishes just after a poll "
            "is seen up to that long later."
        )
    cold = median(res.cold_ms) if res.cold_ms else None
    if cold is not None and cold >= TARGETS["cold_start_ms"] and "debug" in str(res.binary.path):
        out.append("- Cold start: this is a debug build; measure the release binary (`make bench`).")
    return out


def fan_in_summary(fan: FanIn) -> list[list[str]]:
    """[figure, value, target, verdict] rows of the fan-in."""
    cells = fan.members * len(fan.regions)
    ratio = fan.elapsed_s / fan.bound_s
    per = fan.admin_calls_per_enrollment
    # Requests that give up early make the run short and cheap: time and calls count only when all succeeded.
    done = fan.success == fan.members and fan.enabled == cells
    return [
        [
            f"Fan-in: {fan.members} Creates at once, SUCCESS",
            f"{fan.success} of {fan.members}",
            "all",
            verdict(fan.success == fan.members),
        ],
        [
            "Fan-in: members Enabled (member x region)",
            f"{fan.enabled} of {cells}",
            "all",
            verdict(fan.enabled == cells),
        ],
        [
            f"Fan-in: time / rate-limit bound ({fan.bound_s:.0f} s)",
            f"{ratio:.2f}x ({fan.elapsed_s:.1f} s)",
            f"<= {TARGETS['fan_in_bound_ratio']}x",
            verdict(ratio <= TARGETS["fan_in_bound_ratio"]) if done else "n/a",
        ],
        [
            "Fan-in: administrator calls per enrollment per region",
            f"{per:.2f}",
            f"<= {TARGETS['fan_in_admin_calls']}",
            verdict(per <= TARGETS["fan_in_admin_calls"]) if done else "n/a",
        ],
        ["Fan-in: administrator calls throttled (429)", f"{fan.admin_throttled:,}", "", ""],
    ]


FAN_IN_HEADING = "## StackSet fan-in"


def render_fan_in(fan: FanIn) -> list[str]:
    ops = ", ".join(f"{op} {n}" for op, n in sorted(fan.admin_operations.items()))
    failed = [f"  - `{reason[:300]}`" for reason in fan.reasons]
    return [
        FAN_IN_HEADING,
        "",
        f"A StackSet rolled out to an OU, scaled down: {fan.members} existing accounts enrolled at once, "
        "each Create in",
        "its own provider process with its own Runtime API stand-in (as Lambda runs concurrent invocations), all into",
        f"one administrator ({FAN_IN_ADMIN}, not the provider's own account: entered through AssumeRole) in "
        f"{len(fan.regions)} regions",
        f"({', '.join(fan.regions)}). The emulator's Security Hub throttles as AWS does, with a token bucket per",
        "account and region (`tests/emulator/throttle.py`; AWS: 10 requests per second, burst 30), here "
        f"{fan.rate_per_s:g} per second",
        f"with a burst of {fan.burst}, so that the administrator's queue in each region is {fan.members} x "
        f"{FAN_IN_MIN_ADMIN_CALLS} / {fan.rate_per_s:g} = {fan.bound_s:.0f} s long at",
        "the least number of calls the API allows (CreateMembers, InviteMembers, GetMembers): the rate-limit bound.",
        f"Every call takes {fan.latency_ms:g} ms. Stacks are held in the provider's own account (a trusted stack).",
        f"Measured {fan.date} with {fan.binary}.",
        "",
        table(["figure", "value", "target", ""], fan_in_summary(fan)),
        "",
        *(
            []
            if fan.success == fan.members
            else [
                "Time and calls are not judged (n/a) while Creates fail: a request that gives up early makes the run",
                "shorter and cheaper than one that waits its turn.",
                "",
            ]
        ),
        f"- Responses: {', '.join(f'{status} {n}' for status, n in sorted(fan.statuses.items()))}; exactly one "
        f"runtime answer and one response PUT per request: {'yes' if fan.answered_once else 'NO'}.",
        f"- Wall time: first invocation to the last answer, {fan.elapsed_s:.1f} s.",
        f"- The administrator's Security Hub calls served ({fan.admin_served:,} = {fan.admin_calls_per_enrollment:.2f}"
        f" per enrollment per region): {ops or 'none'}.",
        *([f"- FAILED answers (first {len(failed)}):", *failed] if failed else []),
        "",
    ]


def splice_fan_in(text: str, fan: FanIn) -> str:
    """BENCHMARKS.md with its fan-in section replaced (or added before the cold start, memory or emulator
    sections), the rest as the last full run wrote it."""
    lines = text.splitlines()
    section = render_fan_in(fan)
    if FAN_IN_HEADING in lines:
        start = lines.index(FAN_IN_HEADING)
        end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    else:
        start = end = next(
            (
                i
                for i, line in enumerate(lines)
                if line in ("## Cold start", "## Memory and package", "## How the emulator is set up")
            ),
            len(lines),
        )
    return "\n".join(lines[:start] + section + lines[end:]) + "\n"


def watch_summary(run: WatchRun) -> list[list[str]]:
    """[figure, value, target, verdict] rows of the membership watch."""
    pages = run.calls.get("securityhub ListMembers", 0)
    sh_throttled = run.throttled.get("securityhub", 0)
    return [
        [
            f"Watch: members left reported ({run.members} members, {len(run.regions)} regions)",
            f"{run.reported} of {run.departed}",
            "all",
            verdict(run.reported == run.departed),
        ],
        [
            f"Watch: ListMembers calls (bound {run.pages_bound})",
            str(pages),
            f"<= {run.pages_bound}",
            verdict(pages <= run.pages_bound),
        ],
        ["Watch: time of the run", f"{run.elapsed_s:.1f} s", "", ""],
        [
            "Watch: Security Hub calls throttled (10 per second, burst 30)",
            str(sh_throttled),
            "0",
            verdict(sh_throttled == 0),
        ],
    ]


WATCH_HEADING = "## Membership watch"


def render_watch(run: WatchRun) -> list[str]:
    ops = ", ".join(f"{op} {n}" for op, n in sorted(run.calls.items()))
    line = run.metrics
    return [
        WATCH_HEADING,
        "",
        f"One scheduled run of the membership watch (docs/watch.md) over {run.members} organization accounts, each an",
        f"Enabled member of one administrator ({FAN_IN_ADMIN}, entered through AssumeRole) in "
        f"{len(run.regions)} regions",
        f"({', '.join(run.regions)}) and marked as this provider's; {WATCH_RESIGNED} resigned in {run.regions[0]} and "
        f"{WATCH_REMOVED} were removed by the",
        f"administrator in {run.regions[-1]}. The administrator has {run.enabled_regions} regions enabled, "
        "and the watch "
        "asks each. The emulator's",
        "Security Hub throttles at AWS's rate (10 requests per second, burst 30) and Organizations at 5 per second,",
        f"burst 10 (`tests/emulator/throttle.py`); every call takes {run.latency_ms:g} ms. The watch paces itself at 2",
        "Security Hub calls per second per region and 2 Organizations calls per second (src/watch/pace.rs). "
        "Healing off.",
        f"Measured {run.date} with {run.binary}.",
        "",
        table(["figure", "value", "target", ""], watch_summary(run)),
        "",
        f"- The run's metrics line: Status {line.get('Status')}, DepartedMembers {line.get('DepartedMembers')} "
        f"(Resigned {line.get('Resigned')}, Removed {line.get('Removed')}), ListMembersCalls "
        f"{line.get('ListMembersCalls')}, ThrottledCalls {line.get('ThrottledCalls')}, MarksRead "
        f"{line.get('MarksRead')}.",
        f"- Throttled answers by service: {', '.join(f'{k} {v}' for k, v in sorted(run.throttled.items()))}.",
        f"- Calls: {ops}.",
        "",
    ]


def splice_watch(text: str, run: WatchRun) -> str:
    """BENCHMARKS.md with its membership-watch section replaced (or added before the cold start, memory or emulator
    sections), the rest as the last full run wrote it."""
    lines = text.splitlines()
    section = render_watch(run)
    if WATCH_HEADING in lines:
        start = lines.index(WATCH_HEADING)
        end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    else:
        start = end = next(
            (
                i
                for i, line in enumerate(lines)
                if line in ("## Cold start", "## Memory and package", "## How the emulator is set up")
            ),
            len(lines),
        )
    return "\n".join(lines[:start] + section + lines[end:]) + "\n"


def render(res: Results) -> str:
    summary = res.summary()
    misses = [r[0] for r in summary if r[3] == "MISS"]
    out = [
        "# Benchmarks",
        "",
        "Written by `make bench` (`scripts/bench.py`); every figure below comes from one run of it, on the local",
        "AWS emulator (moto plus the project's Security Hub membership operations, `tests/emulator`) with the real",
        "binary driven through the Lambda Runtime API stand-in (`tests/harness`). Re-run it to refresh this file.",
        "",
        f"- Binary: `{show_path(res.binary.path)}` ({res.binary.origin}, "
        f"{res.binary.path.stat().st_size / 2**20:.1f} MiB)",
        f"- Machine: {os.cpu_count()} CPUs ({cpu_model()}), {platform.system()} {platform.machine()}, Python "
        f"{platform.python_version()}; load average {res.load[0]} at the start, {res.load[1]} at the end (the "
        "emulator shares the CPUs with the provider)",
        f"- Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; the whole bench took {res.seconds:.0f} s",
        "",
        "## Summary",
        "",
        table(["figure", "value", "target", ""], summary),
        "",
        "All targets met." if not misses else "Missed: " + "; ".join(misses) + ".",
        "",
        *misses_explained(res),
        "",
        "## Enrollment latency",
        "",
        f"An existing account enrolled with `Regions` listed, every AWS call taking {LATENCY_MS} ms (emulator",
        "`latency_ms`, the response PUT to S3 included). Time from the invocation to the runtime's answer (the",
        "response is PUT before it); one cold provider process per Create (its first request loads credentials and",
        "asks STS who it is), a fresh member account each time. Parallel = the default MAX_CONCURRENT_REGIONS",
        f"({DEFAULT_CONCURRENCY}); sequential = the same binary with MAX_CONCURRENT_REGIONS=1 (regions one after",
        "another; within a region the administrator's and the member's calls still overlap). Bound = round trips",
        f'on the longest dependent chain x {LATENCY_MS} ms with every region at once; "bound at '
        f'{DEFAULT_CONCURRENCY}" = the same with at most {DEFAULT_CONCURRENCY} regions',
        "at once. Chain = the longest chain of non-overlapping calls in the emulator's call log (median run): the",
        "round trips the request really waited for, one after another.",
        "",
        table(ENROLLMENT_HEADERS, enrollment_rows(res)),
        "",
        *(assumed_lines(res.assumed) if res.assumed else []),
    ]
    if res.what_if:
        out += [
            f"The same binary with MAX_CONCURRENT_REGIONS={WHAT_IF_CONCURRENCY} (not the default; one run each), i.e. "
            "regions in waves:",
            "",
            table(WHAT_IF_HEADERS, what_if_rows(res)),
            "",
        ]
    out += ["### The critical path", "", CHAIN_TEXT, ""]
    if res.parallel:
        largest = max(n for n in res.parallel if res.parallel[n])
        run = median_run(res.parallel[largest])
        cpu = f"{run.cpu_s * 1000:.0f} ms" if run.cpu_s is not None else "n/a"
        out += [
            f"Seen in the call log of the median {largest}-region Create ({len(run.calls)} calls, "
            f"{len(run.chain)} on its chain):",
            "",
            "    " + " -> ".join(c["operation"] for c in run.chain),
            "",
            f"Calls: {op_counts(run)}.",
            "",
            f"Besides the {LATENCY_MS} ms per call: invocation to the first AWS call {run.first_call_ms:.0f} ms; the "
            f"emulator's own time {extra_ms(run):.0f} ms per call (median); {gaps_ms(run):.0f} ms between the calls of "
            f"the chain in all (the provider's and the emulator's work between a response and the next request); "
            f"the provider used {cpu} of CPU for the request.",
            "",
        ]
    if res.detections:
        out += [
            "## Account creation detection",
            "",
            "A Create with AccountName and Email (one region); the emulator keeps CreateAccount IN_PROGRESS for",
            "the given time. Lag = end of the DescribeCreateAccountStatus call that first saw SUCCEEDED (the last",
            "poll: the provider stops polling then) minus the creation's CompletedTimestamp; every call takes",
            f"{LATENCY_MS} ms. Poll start times are in seconds after CreateAccount answered. The creation times",
            "span more than one poll period, so the max is near the worst case.",
            "",
            table(
                ["creation takes", "lag", "polls", "poll start times"],
                [
                    [
                        f"{d['delay_s']:.1f} s",
                        f"{d['lag_s']:.2f} s",
                        str(d["polls"]),
                        ", ".join(f"{x:.1f}" for x in d["poll_offsets"]),
                    ]
                    for d in res.detections
                ],
            ),
            "",
        ]
    if res.fan_in:
        out += render_fan_in(res.fan_in)
    if res.watch:
        out += render_watch(res.watch)
    if res.cold_ms:
        cold = sorted(res.cold_ms)
        out += [
            "## Cold start",
            "",
            f"Process start (just before exec) to its first `GET /2018-06-01/runtime/invocation/next`, {len(cold)} "
            f"runs: median {median(cold):.1f} ms, min {cold[0]:.1f} ms, max {cold[-1]:.1f} ms.",
            "",
        ]
    out += [
        "## Memory and package",
        "",
        (
            f"- Peak resident set (VmHWM from /proc, read after the answer, before the process ends) of a 34-region "
            f"Create at the default concurrency: {res.memory_kb / 1024:.1f} MiB."
        )
        if res.memory_kb
        else "- Peak resident set: not measured.",
        f"- dist/bootstrap.zip: {res.package_bytes:,} bytes."
        if res.package_bytes is not None
        else "- dist/bootstrap.zip: not built (`make package`).",
        "",
        "## How the emulator is set up",
        "",
        "- Regions: the emulator's ListRegions offers the 20 regions moto enables by default;",
        "  `scripts/bench_emulator.py` starts it with the 14 opt-in regions opted in as well (for both accounts),",
        "  so that all 34 commercial regions are enabled, as in an organization that opted in everywhere.",
        "- The administrator (the provider's own account) has Security Hub enabled in all 34 regions; each Create",
        "  enrolls a fresh member account, warmed in the emulator first with latency off (moto builds an",
        "  account's backends on its first requests, which AWS does not).",
        f"- The other administrator ({FAN_IN_ADMIN}, entered through AssumeRole; the {ASSUMED_REGIONS}-region "
        "figure and the fan-in) has",
        "  Security Hub enabled in the regions it is asked for, warmed the same way before the clock runs.",
        "",
    ]
    return "\n".join(out)


def print_timeline(run: Run) -> None:
    chain = {c["seq"] for c in run.chain}
    print(
        f"{len(run.calls)} calls, {run.elapsed_s:.2f} s, chain {len(chain)} (bound "
        f"{bound_trips(run.regions, run.concurrency)}), first call after {run.first_call_ms:.0f} ms, provider CPU "
        f"{run.cpu_s} s; administrator {run.administrator}'s Security Hub calls per region "
        f"{run.admin_calls_per_region:.2f}; times from the invocation:"
    )
    for c in sorted(run.calls, key=lambda c: c["start"]):
        mark = "*" if c["seq"] in chain else " "
        print(
            f"{mark} {c['start'] - run.invoked_at:7.3f} {c['end'] - run.invoked_at:7.3f} {c['service']:<12} "
            f"{c['operation']:<30} {c['account']} {c['region']}"
        )


def load_average() -> str:
    try:
        return " ".join(pathlib.Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "n/a"


# --- main ---------------------------------------------------------------------------------------------------------


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--binary", help="the bootstrap binary (default: see the module docstring)")
    parser.add_argument("--runs", type=int, default=3, help="parallel runs per region count (median; 1-9)")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="1 run each, no sequential 34, fewer creations and cold starts (about 1.5 min)",
    )
    parser.add_argument("--out", default=str(REPO / "BENCHMARKS.md"), help="the report to write")
    parser.add_argument(
        "--timeline",
        type=int,
        metavar="REGIONS",
        help="only one Create in REGIONS regions; print its call log (nothing written)",
    )
    parser.add_argument("--concurrency", type=int, help="with --timeline: MAX_CONCURRENT_REGIONS")
    parser.add_argument(
        "--assumed",
        action="store_true",
        help=f"with --timeline: into administrator {FAN_IN_ADMIN} (AssumeRole), not the provider's own",
    )
    parser.add_argument(
        "--only",
        choices=["fan_in", "watch"],
        default=os.environ.get("BENCH_ONLY") or None,
        help="only this scenario (default: BENCH_ONLY): its section of --out is replaced, the rest kept",
    )
    args = parser.parse_args(argv)
    if args.only not in (None, "fan_in", "watch"):  # argparse checks choices on the command line only, not the default
        parser.error(f"BENCH_ONLY={args.only!r}: expected fan_in or watch")
    runs = 1 if args.quick else max(1, min(args.runs, 9))
    began = time.monotonic()
    load_start = load_average()

    def log(text: str) -> None:
        print(text, flush=True)

    with tempfile.TemporaryDirectory(prefix="bench-") as scratch_dir:
        scratch = pathlib.Path(scratch_dir)
        binary = find_binary(args.binary, scratch)
        log(f"bench: binary {show_path(binary.path)} ({binary.origin})")
        rig = Rig(binary, scratch)
        try:
            if args.timeline:
                print_timeline(
                    rig.enroll(
                        args.timeline,
                        args.concurrency,
                        measure_memory=True,
                        administrator=FAN_IN_ADMIN if args.assumed else ADMIN,
                    )
                )
                return 0
            if args.only == "fan_in":
                fan = rig.fan_in()
                print(f"binary: {show_path(binary.path)} ({binary.origin})")
                print("\n".join(render_fan_in(fan)))
                out = pathlib.Path(args.out)
                out.write_text(splice_fan_in(out.read_text() if out.is_file() else "# Benchmarks\n", fan))
                print(f"wrote the fan-in section of {show_path(out)}")
                return 0
            if args.only == "watch":
                watch = rig.watch()
                print(f"binary: {show_path(binary.path)} ({binary.origin})")
                print("\n".join(render_watch(watch)))
                out = pathlib.Path(args.out)
                out.write_text(splice_watch(out.read_text() if out.is_file() else "# Benchmarks\n", watch))
                print(f"wrote the membership-watch section of {show_path(out)}")
                return 0
            parallel: dict[int, list[Run]] = {}
            sequential: dict[int, list[Run]] = {}
            what_if: dict[int, Run] = {}
            memory_kb = None
            for n in REGION_COUNTS:
                parallel[n] = []
                for i in range(runs):
                    run = rig.enroll(n, measure_memory=(n == 34 and i == 0))
                    memory_kb = run.peak_rss_kb or memory_kb
                    parallel[n].append(run)
                    log(f"  {n:2} regions, parallel:   {run.elapsed_s:6.2f} s, chain {len(run.chain)}")
            assumed: list[Run] = []
            for _ in range(runs):
                run = rig.enroll(ASSUMED_REGIONS, administrator=FAN_IN_ADMIN)
                assumed.append(run)
                log(
                    f"  {ASSUMED_REGIONS:2} regions, administrator {FAN_IN_ADMIN} (AssumeRole): "
                    f"{run.elapsed_s:6.2f} s, "
                    f"chain {len(run.chain)}, administrator calls per region {run.admin_calls_per_region:.2f}"
                )
            for n in REGION_COUNTS:
                for _ in range(SEQUENTIAL_RUNS[n] if not args.quick else int(n <= 17)):
                    run = rig.enroll(n, concurrency=1)
                    sequential.setdefault(n, []).append(run)
                    log(f"  {n:2} regions, sequential: {run.elapsed_s:6.2f} s, chain {len(run.chain)}")
            for n in WHAT_IF_REGIONS:
                what_if[n] = rig.enroll(n, concurrency=WHAT_IF_CONCURRENCY, measure_memory=True)
                log(
                    f"  {n:2} regions, MAX_CONCURRENT_REGIONS={WHAT_IF_CONCURRENCY}: {what_if[n].elapsed_s:6.2f} s, "
                    f"chain {len(what_if[n].chain)}"
                )
            detections = []
            for i, delay in enumerate(CREATION_DELAYS_S[::2] if args.quick else CREATION_DELAYS_S):
                detections.append(rig.detection(delay, i))
                d = detections[-1]
                log(f"  creation {delay:.1f} s: noticed {d['lag_s']:.2f} s after, {d['polls']} polls")
            cold = rig.cold_starts(5 if args.quick else COLD_START_RUNS)
            log(f"  cold start: median {median(cold):.1f} ms")
            fan = rig.fan_in()
            log(
                f"  fan-in: {fan.success} of {fan.members} SUCCESS in {fan.elapsed_s:.1f} s "
                f"({fan.elapsed_s / fan.bound_s:.2f}x the bound), {fan.admin_calls_per_enrollment:.2f} administrator "
                f"calls per enrollment per region, {fan.admin_throttled} throttled"
            )
            watch = rig.watch()
            log(
                f"  watch: {watch.reported} of {watch.departed} left reported in {watch.elapsed_s:.1f} s, "
                f"{watch.calls.get('securityhub ListMembers', 0)} ListMembers calls, "
                f"{watch.throttled.get('securityhub', 0)} throttled"
            )
        finally:
            rig.close()
        package = REPO / "dist/bootstrap.zip"
        results = Results(
            binary,
            parallel,
            sequential,
            what_if,
            detections,
            cold,
            memory_kb,
            package.stat().st_size if package.is_file() else None,
            time.monotonic() - began,
            (load_start, load_average()),
            fan,
            assumed,
            watch,
        )
        print()
        print(f"binary: {show_path(binary.path)} ({binary.origin})")
        print(table(["figure", "value", "target", ""], results.summary()))
        print()
        print(table(ENROLLMENT_HEADERS, enrollment_rows(results)))
        print()
        print(table(WHAT_IF_HEADERS, what_if_rows(results)))
        for line in misses_explained(results):
            print(line)
        out = pathlib.Path(args.out)
        out.write_text(render(results))
        print(f"\nwrote {show_path(out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
