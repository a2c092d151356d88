"""Issue 19: the legal clocks — deadline arithmetic per regime and severity, time zones, business days."""

import datetime
import json
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from riskreg.filings import clocks
from riskreg.filings.clocks import add
from riskreg.filings.rules import DEFAULT_FILE, RulesError, parse, rules

UTC = datetime.UTC
BRUSSELS, LA, NY = ZoneInfo("Europe/Brussels"), ZoneInfo("America/Los_Angeles"), ZoneInfo("America/New_York")


def at(*args, zone=UTC):
    return datetime.datetime(*args, tzinfo=zone)


def incident(kinds, regimes, aware=None, resolved=None):
    return SimpleNamespace(kinds=kinds, jurisdictions=regimes, aware_at=aware, resolved_at=resolved)


def report(regime, kind, sent_at):
    return SimpleNamespace(regime=regime, kind=kind, sent_at=sent_at)


def due(found, regime, kind):
    [clock] = [c for c in found if c.regime.slug == regime and c.report == kind]
    return clock.due


@pytest.mark.parametrize("kind, days", [("critical_infrastructure", 2), ("cyber_breach", 5), ("death", 10),
                                        ("serious_harm", 15)])  # fmt: skip
def test_the_eu_initial_report_is_due_by_severity(kind, days):
    aware = at(2026, 6, 1, 9, 30)
    found = clocks.clocks(incident([kind], ["eu"], aware), reports=[])
    assert due(found, "eu", "initial") == aware + datetime.timedelta(days=days)  # June: no clock change


def test_the_earliest_rule_governs_when_an_incident_is_of_several_kinds():
    aware = at(2026, 6, 1, 9, 30)
    found = clocks.clocks(incident(["serious_harm", "critical_infrastructure"], ["eu"], aware), reports=[])
    assert due(found, "eu", "initial") == aware + datetime.timedelta(days=2)


def test_california_fifteen_days_new_york_seventy_two_hours_and_imminent_danger_twenty_four():
    aware = at(2027, 6, 2, 12, 0)  # New York's Act is in force; no clock change within 15 days
    found = clocks.clocks(incident(["imminent_danger"], ["ca", "ny"], aware), reports=[])
    assert due(found, "ca", "initial") == aware + datetime.timedelta(days=15)
    assert due(found, "ny", "initial") == aware + datetime.timedelta(hours=72)
    assert due(found, "ca", "imminent") == due(found, "ny", "imminent") == aware + datetime.timedelta(hours=24)
    assert [c.report for c in found][:2] == ["imminent", "imminent"]  # earliest first


def test_days_run_on_the_regimes_calendar_across_a_clock_change():
    # Brussels moves to summer time on 29 Mar 2026: "2 days" from 10:00 local is 10:00 local, 47 hours later.
    aware = at(2026, 3, 27, 10, 0, zone=BRUSSELS)
    deadline = add(aware, 2, "days", BRUSSELS)
    assert deadline.astimezone(BRUSSELS).replace(tzinfo=None) == datetime.datetime(2026, 3, 29, 10, 0)
    assert deadline - aware == datetime.timedelta(hours=47)
    # Hours are absolute: 72 hours is 72 hours whatever the clocks do (New York changes on 8 Mar 2026).
    aware_ny = at(2026, 3, 7, 12, 0, zone=NY)
    assert add(aware_ny, 72, "hours", NY) - aware_ny == datetime.timedelta(hours=72)
    assert add(aware_ny, 3, "days", NY) - aware_ny == datetime.timedelta(hours=71)


def test_a_regime_runs_no_clock_for_an_incident_discovered_before_it_is_in_force():
    before = clocks.clocks(incident(["death"], ["ny", "ca"], at(2026, 12, 31, 23, 0)), reports=[])
    assert [c.regime.slug for c in before] == ["ca"]  # the RAISE Act applies from 1 Jan 2027
    after = clocks.clocks(incident(["death"], ["ny", "ca"], at(2027, 1, 1, 9, 0)), reports=[])
    assert sorted(c.regime.slug for c in after) == ["ca", "ny"]


def test_a_report_answers_its_clock_only_when_it_could_have():
    aware, resolved = at(2026, 5, 4, 8), at(2026, 7, 1, 8)
    case = incident(["cyber_breach"], ["eu"], aware, resolved)
    early_final = report("eu", "final", resolved - datetime.timedelta(days=30))
    before_aware = report("eu", "initial", aware - datetime.timedelta(days=1))
    amended = report("eu", "amended", aware + datetime.timedelta(days=2))
    found = clocks.clocks(case, reports=[early_final, before_aware, amended])
    assert [c.sent for c in found if c.report in ("initial", "final")] == [None, None]
    assert [c.waiting_for for c in found if c.report == "intermediate"] == ["the initial report is sent"]
    initial = report("eu", "initial", aware + datetime.timedelta(days=1))
    found = clocks.clocks(incident(["cyber_breach"], ["eu"], aware), reports=[initial, amended])
    [intermediate] = [c for c in found if c.report == "intermediate"]
    assert intermediate.sent is None and intermediate.due == initial.sent_at + datetime.timedelta(weeks=4)


def test_the_same_moment_seen_from_another_zone_gives_the_same_deadline():
    moment = at(2026, 7, 1, 23, 30)  # 1 Jul 16:30 in Los Angeles, 2 Jul 01:30 in Brussels
    assert add(moment, 15, "days", LA) == add(moment.astimezone(LA), 15, "days", LA)
    assert add(moment, 15, "days", LA) == moment + datetime.timedelta(days=15)


def test_business_days_skip_weekends_in_the_regimes_zone():
    friday = at(2026, 11, 20, 15, 0, zone=NY)
    assert add(friday, 1, "business_days", NY).astimezone(NY).date() == datetime.date(2026, 11, 23)  # Monday
    assert add(friday, 5, "business_days", NY).astimezone(NY).date() == datetime.date(2026, 11, 27)
    # Friday 23:00 in New York is already Saturday in UTC: the weekend is the regime's, not UTC's.
    late_friday = at(2026, 11, 21, 4, 0)  # = Fri 20 Nov 23:00 in New York
    assert add(late_friday, 1, "business_days", NY).astimezone(NY).date() == datetime.date(2026, 11, 23)
    assert add(late_friday, 1, "business_days", ZoneInfo("UTC")).date() == datetime.date(2026, 11, 23)
    saturday = at(2026, 11, 21, 10, 0, zone=NY)
    assert add(saturday, 1, "business_days", NY).astimezone(NY).date() == datetime.date(2026, 11, 23)


def test_months_keep_the_day_or_end_of_month():
    assert add(at(2026, 1, 31, 8), 1, "months", ZoneInfo("UTC")) == at(2026, 2, 28, 8)
    assert add(at(2026, 11, 30, 8), 3, "months", ZoneInfo("UTC")) == at(2027, 2, 28, 8)


def test_a_naive_start_is_refused():
    with pytest.raises(ValueError):
        add(datetime.datetime(2026, 1, 1), 1, "days", BRUSSELS)


def test_intermediate_reports_every_four_weeks_while_unresolved_and_a_final_within_sixty_days():
    aware = at(2026, 5, 4, 8)
    initial = report("eu", "initial", aware + datetime.timedelta(days=1))
    case = incident(["cyber_breach"], ["eu"], aware)
    found = clocks.clocks(case, reports=[initial])
    assert due(found, "eu", "intermediate") == initial.sent_at + datetime.timedelta(weeks=4)
    assert [c.state(aware) for c in found if c.report == "initial"] == ["sent"]
    assert [c.waiting_for for c in found if c.report == "final"] == ["the incident is resolved"]
    second = report("eu", "intermediate", initial.sent_at + datetime.timedelta(weeks=3))
    found = clocks.clocks(case, reports=[initial, second])
    next_due = [c.due for c in found if c.report == "intermediate" and c.open]
    assert next_due == [second.sent_at + datetime.timedelta(weeks=4)]
    case.resolved_at = second.sent_at + datetime.timedelta(days=2)
    found = clocks.clocks(case, reports=[initial, second])
    assert not [c for c in found if c.report == "intermediate" and c.open]  # resolved: no more intermediates
    assert due(found, "eu", "final") == case.resolved_at + datetime.timedelta(days=60)


def test_states_and_words():
    aware = at(2026, 6, 1, 9)
    [clock] = clocks.clocks(incident(["serious_harm"], ["ca"], aware), reports=[])
    assert clock.state(aware) == "due" and clock.words(aware) == "due in 15 days"
    assert clock.state(clock.due - datetime.timedelta(hours=5)) == "due soon"
    assert clock.words(clock.due + datetime.timedelta(hours=3, minutes=10)) == "overdue by 3 hours 10 minutes"
    late = report("ca", "initial", clock.due + datetime.timedelta(hours=1))
    [clock] = clocks.clocks(incident(["serious_harm"], ["ca"], aware), reports=[late])
    assert clock.state() == "sent late"


def test_no_clock_runs_before_awareness_is_recorded_and_a_near_miss_owes_nothing():
    [clock] = clocks.clocks(incident(["death"], ["ny"]), reports=[])
    assert clock.due is None and clock.state() == "waiting" and "became aware" in clock.words()
    assert clocks.clocks(incident(["near_miss"], []), reports=[]) == []


def test_each_rule_names_its_source_and_the_file_is_checked():
    data = rules()
    assert data.read_on and all(rule.source for rule in data.deadlines)
    assert all(regime.source and (regime.source_date or regime.source_note) for regime in data.regimes.values())
    assert set(data.systemic_risks) == {"cbrn", "loss_of_control", "cyber_offence", "harmful_manipulation"}
    with pytest.raises(RulesError, match="within"):
        parse({**_raw(), "deadlines": [{**_raw()["deadlines"][0], "within": [2, "fortnights"]}]})
    with pytest.raises(RulesError, match="unknown incident kind"):
        parse({**_raw(), "deadlines": [{**_raw()["deadlines"][0], "kinds": ["alien invasion"]}]})
    with pytest.raises(RulesError, match="time_zone|No time zone"):
        parse({**_raw(), "regimes": [{**_raw()["regimes"][0], "time_zone": "Mars/Olympus"}]})


def _raw() -> dict:
    return json.loads(DEFAULT_FILE.read_text())


def test_a_changed_rule_is_a_data_change(settings, tmp_path):
    """A law that changes its period changes the file, not the code: the clocks follow the file."""
    data = _raw()
    for rule in data["deadlines"]:
        if rule["id"] == "ny-initial":
            rule["within"] = [48, "hours"]
    path = tmp_path / "rules.json"
    path.write_text(json.dumps(data))
    settings.FILING_RULES = str(path)
    aware = at(2027, 2, 1, 12)
    found = clocks.clocks(incident(["death"], ["ny"], aware), reports=[])
    assert due(found, "ny", "initial") == aware + datetime.timedelta(hours=48)


def test_a_rules_file_that_makes_no_sense_stops_the_app_with_the_reason(tmp_path):
    import os
    import subprocess
    import sys

    bad = tmp_path / "rules.json"
    bad.write_text(json.dumps({**_raw(), "regimes": [{**_raw()["regimes"][0], "in_force": "soon"}]}))
    result = subprocess.run([sys.executable, "manage.py", "check"], capture_output=True, text=True,
                            env={**os.environ, "FILING_RULES": str(bad), "DEBUG": "1"}, timeout=120)  # fmt: skip
    assert result.returncode != 0 and "regime eu" in result.stderr and "soon" in result.stderr
