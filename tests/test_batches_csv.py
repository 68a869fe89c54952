"""The batch CSV checker (`provisioner.batches`): every problem located as FILE:LINE:COL, fast lane."""

from __future__ import annotations

from pathlib import Path

from provisioner.api.wire import AgentResponse
from provisioner.batches import AgentVariables, check_csv, check_lines
from provisioner.manifest import Agent
from provisioner.outbound import agent_variables

AGENT = AgentVariables(
    used=frozenset({"customer_name", "order_id"}),
    defaults=frozenset({"customer_name"}),
    overrides=frozenset({"language"}),
)


def check(text: str, agent: AgentVariables = AGENT, **kwargs: int) -> list[str]:
    return [str(p) for p in check_lines(text.splitlines(keepends=True), "r.csv", agent, **kwargs).problems]


def test_a_good_file_gives_recipients_with_variables_and_overrides() -> None:
    text = "phone_number,customer_name,order_id,language\n+14155550100,Ann,1,es\n+14155550101,,2,\n"
    result = check_lines(text.splitlines(keepends=True), "r.csv", AGENT)
    assert result.ok and result.problems == [] and result.rows == 2
    first, second = result.recipients
    assert (first.line, first.phone_number, first.variables, first.overrides) == (
        2,
        "+14155550100",
        {"customer_name": "Ann", "order_id": "1"},
        {"language": "es"},
    )
    # an empty cell is left out: the agent's default applies
    assert second.variables == {"order_id": "2"} and second.overrides == {}


def test_bad_rows_are_located_by_line_and_column() -> None:
    text = (
        "phone_number,customer_name,order_id\n"
        "+14155550100,Ann,1\n"
        "415 555 0101,Bob,2\n"  # line 3: not E.164
        ",Cy,3\n"  # line 4: empty
        "+14155550100,Di,4\n"  # line 5: duplicate of line 2
        "+14155550102,Ed,\n"  # line 6: order_id is used and has no default
        "+14155550103,Fe\n"  # line 7: a field short
        "+14155550104,,5\n"  # fine: customer_name has a default
    )
    assert check(text) == [
        "r.csv:3:1: error: '415 555 0101' is not an E.164 number: it needs '+' and the country code "
        "(e.g. '+14155550100')",
        "r.csv:4:1: error: empty phone_number",
        "r.csv:5:1: error: duplicate phone_number +14155550100 (first on line 2)",
        "r.csv:6:17: error: empty order_id: the agent uses {{order_id}} and has no default",
        "r.csv:7:16: error: 2 fields, but the header has 3",
    ]


def test_columns_in_quoted_fields_and_multiline_records() -> None:
    text = 'customer_name,phone_number\n"Smith, Ann",+1415\n"two\nlines",bad\n'
    rule = "is not an E.164 number ('+', country code, then up to 14 digits, e.g. '+14155550100')"
    assert check(text) == [f"r.csv:2:14: error: '+1415' {rule}", f"r.csv:4:8: error: 'bad' {rule}"]


def test_header_problems() -> None:
    assert check("number,name\n+14155550100,x\n") == [
        "r.csv:1:1: warning: column 'number' is not used by the agent's placeholders or messages (it is sent anyway)",
        "r.csv:1:8: warning: column 'name' is not used by the agent's placeholders or messages (it is sent anyway)",
        "r.csv:1:1: error: no 'phone_number' column: the header must name one (E.164 numbers)",
    ]
    problems = check("phone_number,order_id,order_id,,system__x,a b,first_message\n")
    assert problems == [
        "r.csv:1:23: error: duplicate column 'order_id' (also column 2)",
        "r.csv:1:32: error: column 4 has no name",
        "r.csv:1:33: error: column 'system__x': the system__ prefix is reserved for the platform",
        "r.csv:1:43: error: column 'a b' is not a dynamic variable name (letters, digits, _ . -)",
        "r.csv:1:47: error: column 'first_message': the agent does not allow overriding first_message "
        "(add it to the agent's overrides: in the manifest)",
        "r.csv:1:1: error: no recipients: the file has a header and no rows",
    ]


def test_overrides_unknown_to_the_manifest_warn_and_language_codes_are_checked() -> None:
    agent = AgentVariables(used=frozenset(), defaults=frozenset(), overrides=None)
    problems = check("phone_number,language\n+14155550100,english!\n", agent)
    assert problems[0].startswith("r.csv:1:14: warning: column 'language' overrides the agent's language")
    assert problems[1] == "r.csv:2:14: error: language 'english!' is not a language code (e.g. en, pt-BR)"


def test_more_rows_than_the_limit() -> None:
    rows = "".join(f"+1415555{i:04d}\n" for i in range(4))
    problems = check("phone_number\n" + rows, max_rows=3)
    assert problems == ["r.csv:5:1: error: more than 3 recipients (the API's limit); split the file"]


def test_empty_file_bad_csv_and_unreadable_files(tmp_path: Path) -> None:
    assert check("") == [
        "r.csv:1:1: error: the file is empty: the first line must be the header, with a phone_number column"
    ]
    assert check('phone_number\n"+14155550100\n') == ["r.csv:2:1: error: not valid CSV: unexpected end of data"]
    assert check('phone_number\n"+14155550100"x\n') == ["r.csv:2:1: error: not valid CSV: ',' expected after '\"'"]
    latin = tmp_path / "latin.csv"
    latin.write_bytes("phone_number,name\n+14155550100,Jos\xe9\n".encode("latin-1"))
    assert str(check_csv(latin, AGENT).problems[0]).startswith(f"{latin}: error: not UTF-8 text")
    missing = tmp_path / "missing.csv"
    assert (
        str(check_csv(missing, AGENT).problems[0])
        == f"{missing}: error: cannot read the file: No such file or directory"
    )
    bom = tmp_path / "bom.csv"
    bom.write_bytes("\ufeffphone_number,order_id\r\n+14155550100,1\r\n".encode())
    result = check_csv(bom, AGENT)
    assert result.ok and result.recipients[0].variables == {"order_id": "1"}


def test_no_recipients_are_kept_once_a_row_is_wrong() -> None:
    result = check_lines(["phone_number\n", "bad\n", "+14155550100\n"], "r.csv", AGENT)
    assert not result.ok and result.recipients == []


def test_agent_variables_from_the_manifest_and_the_live_agent() -> None:
    agent = Agent.model_validate(
        {
            "id": "agent_1",
            "dynamic_variables": {"region": "west", "gone": None},
            "overrides": ["language"],
            "transfers": [
                {"to": "+14155550199", "condition": "asks", "handoff_message": "{{order_id}} {{system__caller_id}}"}
            ],
        }
    )
    live = AgentResponse.model_validate(
        {
            "agent_id": "agent_1",
            "conversation_config": {
                "agent": {
                    "first_message": "Hi {{customer_name}}",
                    "prompt": {"prompt": "Tier {{tier}}"},
                    "dynamic_variables": {"dynamic_variable_placeholders": {"tier": "basic"}},
                }
            },
        }
    )
    found = agent_variables(agent, live)
    assert found.used == {"order_id", "customer_name", "tier"}
    assert found.defaults == {"region", "tier"}
    assert found.overrides == {"language"}
    assert agent_variables(Agent(id="a"), None) == AgentVariables(frozenset(), frozenset(), None)
