"""The Corrections page's reading of the span picker's commands (xlner.explorer.components.pending_commands)."""

from __future__ import annotations

from xlner.explorer.components import pending_commands


def _state(token: str, *seqs: int) -> dict:
    return {"command": {"token": token, "seq": max(seqs), "commands": [{"seq": s, "command": "accept"} for s in seqs]}}


def test_only_commands_after_the_last_handled_one_of_this_page_load_oldest_first():
    state = {"command": {"token": "t1", "seq": 4, "commands": [{"seq": 4, "command": "reject"},
                                                             {"seq": 2, "command": "accept"},
                                                             {"seq": 3, "command": "fix"}]}}
    assert [c["seq"] for c in pending_commands(state, None)] == [2, 3, 4]
    assert [c["command"] for c in pending_commands(state, ("t1", 2))] == ["fix", "reject"]
    assert pending_commands(state, ("t1", 4)) == []
    assert all(c["token"] == "t1" for c in pending_commands(state, None))


def test_a_new_page_load_starts_its_numbers_again_and_a_resent_command_comes_once():
    assert [c["seq"] for c in pending_commands(_state("t2", 1), ("t1", 9))] == [1]  # another token: new
    twice = {"command": {"token": "t1", "seq": 5, "commands": [{"seq": 5, "command": "accept"},
                                                               {"seq": 5, "command": "accept"}]}}
    assert len(pending_commands(twice, ("t1", 4))) == 1


def test_nothing_sent_yet_or_a_malformed_value_is_no_command():
    assert pending_commands({}, None) == []
    assert pending_commands({"command": None}, None) == []
    assert pending_commands({"command": {"token": "t", "seq": 1, "command": "accept"}}, None) == []  # old shape
    assert pending_commands({"command": {"token": "t", "commands": [{"command": "accept"}, "x"]}}, None) == []
    assert pending_commands(None, None) == []
