"""The procedure's git steps over real HTTP and a real bare origin: base, branch, version,
tag, merge back, conflicts, clean-up and the security wording."""

from __future__ import annotations

import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from storage.models import Event, Hotfix, VersionReservation
from tests.conftest import CTO, EM, INCIDENT_CHANNEL, ONCALL, REQUESTER, RunningBot, write_policy
from tests.git_fixtures import Origin, git_environment, run_git
from tests.test_approvals import approvals_message, card, click, in_thread, open_hotfix
from tests.test_commands import reply
from tests.test_start import text_of
from workflows.git_repo import GitOperationFailed, TagConflict

FIXED = (
    "def authenticate(token):\n    if not token:\n        return False\n"
    "    return validate_token(token)\n"
)


def approve_all(
    bot: RunningBot,
    text: str = "SEC-9 high Login accepts empty tokens",
    then: tuple[str, ...] = ("🌿", "⚠️"),
) -> Hotfix:
    """Open a HIGH hotfix and approve it; return it once the thread says what followed."""
    checklist = open_hotfix(bot, text)
    click(bot, checklist, "Approve as On-call Lead", ONCALL)
    bot.fake.wait_for(lambda: "Approve as On-call" not in text_of(approvals_message(bot)["blocks"]))
    click(bot, approvals_message(bot), "Approve as Engineering Manager", EM)
    bot.fake.wait_for(lambda: any(in_thread(bot, start) for start in then), timeout=10)
    return bot.rows(Hotfix)[0]


def to_merging_back(bot: RunningBot, hotfix_id: int) -> None:
    """Walk the review and deploy phases in the database (tests/test_deploy.py runs them for
    real), so merge back can be exercised on its own."""
    service = bot.bot.services.hotfixes
    for event in ("pr_opened", "review_passed", "deploy", "deploy_succeeded", "monitoring_passed"):
        if event == "deploy":  # as a deploy starts: with its heartbeat (never stale)
            service.start_deploy(hotfix_id, actor=CTO, deploy_roles=("cto",), new_version=False)
        else:
            service.fire(hotfix_id, event, actor=CTO)


def test_the_branch_is_cut_from_the_production_tag_and_the_version_reserved(
    running_bot: RunningBot, origin: Origin
) -> None:
    bot = running_bot
    hotfix = approve_all(bot)
    assert (hotfix.state, hotfix.base_tag, hotfix.version) == ("fixing", "v1.2.3", "v1.2.4")
    assert origin.head("hotfix/SEC-9-login-accepts-empty-tokens") == origin.tag_commit("v1.2.3")
    # The card is re-rendered after the change, off the request thread: wait for it.
    bot.fake.wait_for(
        lambda: (
            "`hotfix/SEC-9-login-accepts-empty-tokens` from `v1.2.3` → `v1.2.4`"
            in text_of(card(bot)["blocks"])
        )
    )
    assert [r.name for r in bot.rows(VersionReservation)] == ["v1.2.4"]


@pytest.fixture
def manual_policy(tmp_path: Path, origin: Origin) -> Path:
    return write_policy(tmp_path, origin, repository={"auto_branch": False})


def test_a_failed_push_says_why_keeps_the_state_and_retry_goes_on(
    running_bot: RunningBot, origin: Origin
) -> None:
    bot = running_bot
    origin.protect("hotfix/SEC-9-login-accepts-empty-tokens", "branch creation is frozen")
    hotfix = approve_all(bot)
    failure = bot.fake.wait_for(lambda: in_thread(bot, "⚠️"))[0]
    assert "failed — " in failure["text"] and "branch creation is frozen" in failure["text"]
    assert "HF-1 stays *approved*" in failure["text"]
    assert hotfix.state == "approved" and hotfix.branch is None
    assert origin.head("hotfix/SEC-9-login-accepts-empty-tokens") is None

    (origin.path / "hooks" / "pre-receive").unlink()
    click(bot, failure, "Retry", CTO)
    bot.fake.wait_for(lambda: in_thread(bot, "🌿"), timeout=10)
    assert bot.rows(Hotfix)[0].state == "fixing"
    assert origin.head("hotfix/SEC-9-login-accepts-empty-tokens") == origin.tag_commit("v1.2.3")


def test_without_a_matching_tag_a_base_must_be_chosen(
    running_bot: RunningBot, origin: Origin, tmp_path: Path
) -> None:
    bot = running_bot
    hotfix = approve_all(bot)  # the policy's pattern matches; pretend the base is unknown:
    assert hotfix.base_tag == "v1.2.3"
    answer = reply(bot, "base HF-1 v9.9.9", user=REQUESTER)
    assert "`v9.9.9` is not a production tag on the remote" in answer["text"]
    assert "The latest is v1.2.3." in answer["text"]
    moved = reply(bot, "base HF-1 v1.2.2", user=REQUESTER)["text"]
    assert moved == "⚠️ HF-1 is now *Fixing*, so that no longer applies."


@pytest.fixture
def policy_path(tmp_path: Path, origin: Origin, request: pytest.FixtureRequest) -> Path:
    changes = getattr(request, "param", {})
    return write_policy(tmp_path, origin, **changes)


@pytest.mark.parametrize(
    "policy_path",
    [{"repository": {"tag_pattern": "prod-{major}.{minor}.{patch}"}}],
    indirect=True,
)
def test_no_tag_matches_the_pattern(running_bot: RunningBot, origin: Origin) -> None:
    bot = running_bot
    checklist = open_hotfix_without_base(bot)
    notice = bot.fake.wait_for(lambda: in_thread(bot, "⚠️"))[0]
    assert "no tag on the remote matches `prod-{major}.{minor}.{patch}`" in notice["text"]
    assert "`/hotfix base HF-1 <tag>`" in notice["text"]
    click(bot, checklist, "Approve as On-call Lead", ONCALL)
    bot.fake.wait_for(lambda: "Approve as On-call" not in text_of(approvals_message(bot)["blocks"]))
    click(bot, approvals_message(bot), "Approve as Engineering Manager", EM)
    refused = bot.fake.wait_for(lambda: [m for m in in_thread(bot, "⚠️") if "Retry" in str(m)])
    said = refused[0]["text"]
    assert "has no production base to branch from. Push the tag of the release" in said
    assert bot.rows(Hotfix)[0].state == "approved"

    run_git(origin.path, "tag", "prod-1.2.3", "v1.2.3")
    assert reply(bot, "base HF-1 prod-1.2.3")["text"] == "📌 HF-1 now starts from `prod-1.2.3`."
    click(bot, refused[0], "Retry", EM)
    ready = bot.fake.wait_for(lambda: in_thread(bot, "🌿"), timeout=10)[0]
    assert "cut from `prod-1.2.3`" in ready["text"] and "(ships as `prod-1.2.4`)" in ready["text"]


def open_hotfix_without_base(bot: RunningBot) -> dict:
    from tests.test_start import start

    modal = start(bot, "SEC-9 high Login accepts empty tokens")
    bot.slack.submit_view(modal["id"], user_id=REQUESTER, values={"Impact": "Everyone"})
    bot.fake.wait_for(lambda: any(e.kind == "no_base" for e in bot.rows(Event)))
    return approvals_message(bot)


@pytest.mark.parametrize("policy_path", [{"repository": {"auto_branch": False}}], indirect=True)
def test_without_auto_branch_a_button_creates_it(running_bot: RunningBot, origin: Origin) -> None:
    bot = running_bot
    approve_all(bot, "PAY-1 high Refunds fail", then=("🌱 *HF-1*: create its branch",))
    offer = bot.fake.wait_for(lambda: in_thread(bot, "🌱 *HF-1*: create its branch"))[0]
    assert bot.rows(Hotfix)[0].state == "approved"
    click(bot, offer, "Create branch", REQUESTER)
    bot.fake.wait_for(lambda: in_thread(bot, "🌿"), timeout=10)
    assert origin.head("hotfix/PAY-1-refunds-fail") == origin.tag_commit("v1.2.3")


def test_two_hotfixes_from_one_base_get_distinct_versions(
    running_bot: RunningBot, origin: Origin
) -> None:
    bot = running_bot
    service = bot.bot.services.hotfixes
    git = bot.bot.services.git.git
    # v1.2.4 already exists on the remote (someone tagged by hand): it must be skipped too.
    run_git(origin.path, "tag", "v1.2.4", "v1.2.3")
    ids = []
    for title in ("high One thing", "high Another thing"):
        open_hotfix(bot, title)
        ids.append(bot.rows(Hotfix)[-1].id)
        bot.fake.wait_for(lambda: len(bot.fake.messages(INCIDENT_CHANNEL)) == len(ids))
    for hotfix_id in ids:
        bot.fake.wait_for(lambda hotfix_id=hotfix_id: service.get(hotfix_id).base_tag)
    with ThreadPoolExecutor(max_workers=2) as pool:
        versions = list(pool.map(lambda i: git.reserve_version(service.get(i)), ids))
    assert sorted(versions) == ["v1.2.5", "v1.2.6"]
    assert sorted(r.name for r in bot.rows(VersionReservation)) == ["v1.2.5", "v1.2.6"]
    # Aborting gives an unused version back.
    reply(bot, "abort HF-1 duplicate", user=CTO)
    bot.fake.wait_for(lambda: [r.hotfix_id for r in bot.rows(VersionReservation)] == [ids[1]])


def test_the_release_tag_is_annotated_pushed_and_never_moved(
    running_bot: RunningBot, origin: Origin
) -> None:
    bot = running_bot
    hotfix = approve_all(bot)
    reviewed = origin.commit_on(hotfix.branch, {"auth.py": FIXED}, "Add null check")
    git = bot.bot.services.git.git
    head = origin.commit_on(hotfix.branch, {"README.md": "# api\nmore\n"}, "Unreviewed change")
    with pytest.raises(GitOperationFailed, match="moved since review"):
        git.tag(hotfix.id, expected_commit=reviewed)
    assert not origin.git("tag", "-l", "v1.2.4")  # nothing half-done
    result = git.tag(hotfix.id, expected_commit=head)
    assert (result.name, result.commit, result.created) == ("v1.2.4", head, True)
    assert origin.object_type("refs/tags/v1.2.4") == "tag"
    assert origin.tag_message("v1.2.4").strip() == "Hotfix: Login accepts empty tokens (SEC-9)"
    assert git.tag(hotfix.id, expected_commit=head).created is False  # idempotent
    origin.git("tag", "-d", "v1.2.4")
    origin.git("tag", "-a", "v1.2.4", "-m", "someone else's", reviewed)
    with pytest.raises(TagConflict):
        git.tag(hotfix.id, expected_commit=head)  # never moved
    assert origin.tag_commit("v1.2.4") == reviewed


def test_merge_back_merges_everywhere_deletes_the_branch_and_closes(
    running_bot: RunningBot, origin: Origin
) -> None:
    bot = running_bot
    hotfix = approve_all(bot)
    fix = origin.commit_on(hotfix.branch, {"auth.py": FIXED}, "Add null check before validation")
    to_merging_back(bot, hotfix.id)
    answer = reply(bot, "merge-back HF-1", user=REQUESTER)
    assert answer["text"] == "🔀 Merging HF-1 back; progress is in its thread."
    report = bot.fake.wait_for(lambda: in_thread(bot, "🔀 *HF-1* is merged back"), timeout=15)[0]
    shown = text_of(report["blocks"])
    assert "✅ merged into `main`" in shown and "✅ merged into `develop`" in shown
    for target in ("main", "develop"):
        merge = origin.head(target)
        assert origin.parents(merge)[1] == fix
        assert origin.message(merge).startswith(
            "Merge hotfix hotfix/SEC-9-login-accepts-empty-tokens (v1.2.4): Login accepts"
        )
        assert origin.read(target, "auth.py") == FIXED
    assert origin.head(hotfix.branch) is None  # cleaned up
    bot.fake.wait_for(lambda: bot.rows(Hotfix)[0].state == "closed")
    moves = [e for e in bot.rows(Event) if e.to_state != e.from_state]
    assert moves[-1].kind == "merged_back"


@pytest.mark.parametrize(
    "policy_path", [{"repository": {"merge_into_release_branches": True}}], indirect=True
)
def test_an_open_release_branch_receives_the_fix_too(
    running_bot: RunningBot, origin: Origin
) -> None:
    bot = running_bot
    hotfix = approve_all(bot)
    fix = origin.commit_on(hotfix.branch, {"auth.py": FIXED}, "Add null check before validation")
    to_merging_back(bot, hotfix.id)
    reply(bot, "merge-back HF-1")
    report = bot.fake.wait_for(lambda: in_thread(bot, "🔀 *HF-1* is merged back"), timeout=15)[0]
    assert "✅ merged into `release/1.3.0`" in text_of(report["blocks"])
    assert origin.parents(origin.head("release/1.3.0"))[1] == fix


def merging_back_into_a_conflict(bot: RunningBot, origin: Origin) -> tuple[Hotfix, str, dict]:
    """A fixed hotfix merging back while develop changed the same lines: the hotfix, its fix
    and the report of the first merge-back run."""
    hotfix = approve_all(bot)
    fix = origin.commit_on(hotfix.branch, {"auth.py": FIXED}, "Add null check before validation")
    develop_version = "def authenticate(token, scope):\n    return validate_token(token, scope)\n"
    origin.commit_on("develop", {"auth.py": develop_version}, "Scope tokens")
    to_merging_back(bot, hotfix.id)
    reply(bot, "merge-back HF-1")
    report = bot.fake.wait_for(
        lambda: in_thread(bot, "🔀 *HF-1*: merge back is waiting"), timeout=20
    )[0]
    return hotfix, fix, report


def test_a_conflict_is_reported_with_its_files_and_a_rerun_finishes(
    running_bot: RunningBot, origin: Origin
) -> None:
    bot = running_bot
    hotfix, fix, report = merging_back_into_a_conflict(bot, origin)
    shown = text_of(report["blocks"])
    assert "✅ merged into `main`" in shown and "❌ `develop` conflicts" in shown
    assert "*Conflicts merging into `develop`:*\\n• `auth.py`" in shown
    assert "git merge --no-ff origin/hotfix/SEC-9-login-accepts-empty-tokens" in shown
    assert bot.rows(Hotfix)[0].state == "merging_back"
    assert origin.head(hotfix.branch) == fix  # kept until every target has the fix

    resolve_by_hand(origin, "develop", hotfix.branch, {"auth.py": FIXED})
    click(bot, report, "Re-check merge back", REQUESTER)
    done = bot.fake.wait_for(lambda: in_thread(bot, "🔀 *HF-1* is merged back"), timeout=15)[0]
    assert "✅ `main` already has the fix" in text_of(done["blocks"])
    assert "✅ `develop` already has the fix" in text_of(done["blocks"])
    bot.fake.wait_for(lambda: bot.rows(Hotfix)[0].state == "closed")
    assert origin.head(hotfix.branch) is None


def resolve_by_hand(origin: Origin, target: str, source: str, files: dict[str, str]) -> None:
    """What a person does: merge the hotfix into ``target``, resolve, push."""
    with tempfile.TemporaryDirectory() as scratch:
        env = {**git_environment(), "GIT_INDEX_FILE": str(Path(scratch) / "index")}
        ours, theirs = origin.head(target), origin.head(source)
        run_git(origin.path, "read-tree", ours, env=env)
        for path, text in files.items():
            blob = run_git(origin.path, "hash-object", "-w", "--stdin", input=text, env=env)
            run_git(origin.path, "update-index", "--cacheinfo", f"100644,{blob},{path}", env=env)
        tree = run_git(origin.path, "write-tree", env=env)
        merge = run_git(
            origin.path,
            "commit-tree",
            tree,
            "-p",
            ours,
            "-p",
            theirs,
            "-m",
            f"Merge {source}: resolve conflicts",
            env=env,
        )
    run_git(origin.path, "update-ref", f"refs/heads/{target}", merge, ours)


def approved_security_fix(bot: RunningBot) -> Hotfix:
    """SEC-77, a CRITICAL security fix, approved by every role; once its branch is cut."""
    open_hotfix(bot, "SEC-77 critical SQL injection in user search")
    bot.fake.wait_for(lambda: bot.rows(Hotfix))
    bot.bot.services.hotfixes.note(
        1, actor=REQUESTER, kind="flagged", changes={"security_fix": True}
    )
    for label, user in (
        ("Approve as Engineering Manager", EM),
        ("Approve as On-call Lead", ONCALL),
        ("Approve as CTO", CTO),
    ):
        bot.fake.wait_for(lambda label=label: label in text_of(approvals_message(bot)["blocks"]))
        click(bot, approvals_message(bot), label, user)
    bot.fake.wait_for(lambda: in_thread(bot, "🌿"), timeout=10)
    return bot.rows(Hotfix)[0]


def test_a_security_fix_says_nothing_in_public(running_bot: RunningBot, origin: Origin) -> None:
    bot = running_bot
    hotfix = approved_security_fix(bot)
    assert hotfix.branch == "hotfix/SEC-77"  # the title stays out of the name
    origin.commit_on(
        hotfix.branch,
        {"search.py": "q = escape(q)\n"},
        "Fix SQL injection in user search\n\nUse bound parameters.",
    )
    result = bot.bot.services.git.git.tag(hotfix.id)
    assert origin.tag_message(result.name).strip() == "Hotfix v1.2.4 (SEC-77)"
    to_merging_back(bot, hotfix.id)
    reply(bot, "merge-back HF-1")
    warning = bot.fake.wait_for(
        lambda: [m for m in in_thread(bot, "🔒") if "injection" in m["text"]], timeout=15
    )[0]
    assert "“Fix SQL injection in user search” (injection)" in warning["text"]
    assert "GOOD: `Improve input validation in search functionality`" in warning["text"]
    # Merged everywhere; it closes once Security has done its close-out (test_security_close).
    bot.fake.wait_for(lambda: in_thread(bot, "🔒 *HF-1* is merged back"), timeout=15)
    assert origin.message(origin.head("main")).strip() == "Merge hotfix hotfix/SEC-77 (v1.2.4)"


def test_merge_back_before_its_phase_is_refused_privately(running_bot: RunningBot) -> None:
    bot = running_bot
    approve_all(bot)
    answer = reply(bot, "merge-back HF-1")
    assert answer["text"] == "⚠️ HF-1 is now *Fixing*, so that no longer applies."
    assert not in_thread(bot, "⏳ *HF-1*: merging")


def test_a_branch_name_is_never_shared_and_a_lost_record_reuses_its_push(
    running_bot: RunningBot, origin: Origin
) -> None:
    from datetime import UTC, datetime

    from sqlalchemy import update

    from storage.db import transaction
    from workflows.assessment import Assessment
    from workflows.severity import Severity

    bot = running_bot
    services = bot.bot.services
    name = "hotfix/SEC-9-login-accepts-empty-tokens"
    approve_all(bot)
    assert origin.head(name) == origin.tag_commit("v1.2.3")
    # Someone's old experiment holds the next name; it does not start at the tag.
    origin.commit_on(f"{name}-2", {"old.txt": "old\n"}, "Old experiment", start="v1.0.0")

    # A second hotfix with the same ticket and title.
    second = services.hotfixes.open(
        Assessment(
            title="Login accepts empty tokens",
            severity=Severity.HIGH,
            impact="Everyone",
            discovered_at=datetime.now(UTC),
            reporter_id=REQUESTER,
            ticket="SEC-9",
        ),
        requester_id=REQUESTER,
        channel_id=INCIDENT_CHANNEL,
        idempotency_key="second",
    )
    assert second is not None
    services.hotfixes.approve(second.id, role="oncall_lead", actor=ONCALL)
    services.hotfixes.approve(second.id, role="engineering_manager", actor=EM)
    cut = services.git.git.create_branch(second.id, actor=EM)
    assert cut.branch == f"{name}-3"
    assert origin.head(f"{name}-3") == origin.tag_commit("v1.2.3")

    # The push landed but recording it did not (say the database went away): the retry
    # finds its own branch, it does not cut a fourth.
    with transaction(services.sessions) as session:
        session.execute(
            update(Hotfix).where(Hotfix.id == second.id).values(state="approved", branch=None)
        )
    again = services.git.git.create_branch(second.id, actor=EM)
    assert again.branch == f"{name}-3"
    assert origin.head(f"{name}-4") is None
    assert [h.branch for h in bot.rows(Hotfix)] == [name, f"{name}-3"]


def test_the_branch_starts_at_the_approved_commit_even_if_the_tag_moved(
    running_bot: RunningBot, origin: Origin
) -> None:
    bot = running_bot
    checklist = open_hotfix(bot, "SEC-9 high Login accepts empty tokens")
    approved_at = origin.tag_commit("v1.2.3")
    assert bot.rows(Hotfix)[0].base_commit == approved_at
    # Someone re-points the production tag while the approvers are deciding.
    moved_to = origin.git("rev-parse", "v1.2.2^{commit}")
    origin.git("tag", "-f", "v1.2.3", moved_to)
    click(bot, checklist, "Approve as On-call Lead", ONCALL)
    bot.fake.wait_for(lambda: "Approve as On-call" not in text_of(approvals_message(bot)["blocks"]))
    click(bot, approvals_message(bot), "Approve as Engineering Manager", EM)

    warning = bot.fake.wait_for(lambda: in_thread(bot, "⚠️ *HF-1*: `v1.2.3` has moved"))[0]
    assert f"it is now at `{moved_to[:12]}`" in warning["text"]
    assert (
        f"The branch starts at `{approved_at[:12]}`, the commit the approvers saw"
        in (warning["text"])
    )
    assert origin.head("hotfix/SEC-9-login-accepts-empty-tokens") == approved_at
    cut = next(e for e in bot.rows(Event) if e.kind == "branch_created")
    assert cut.detail["commit"] == approved_at and cut.detail["tag_now_at"] == moved_to
