"""gcpause: the collector is off inside the block and back as it was after; `keep` freezes."""

from __future__ import annotations

import gc

from provisioner import gcpause


def test_paused_restores_the_collector_as_it_was() -> None:
    assert gc.isenabled()
    with gcpause.paused():
        assert not gc.isenabled()
        with gcpause.paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the inner block does not re-enable what the outer paused
    assert gc.isenabled()
    gc.disable()
    try:
        with gcpause.paused():
            pass
        assert not gc.isenabled()  # disabled before: left disabled
    finally:
        gc.enable()


def test_keep_moves_what_the_block_built_out_of_the_collector_s_reach() -> None:
    before = gc.get_freeze_count()
    gcpause.freeze_kept()  # what the `telephony` command does
    try:
        with gcpause.paused(keep=True):
            built = [{"n": i} for i in range(1000)]
        assert gc.get_freeze_count() >= before + len(built)
        assert gc.isenabled()
    finally:
        gcpause.freeze_kept(False)
        gc.unfreeze()


def test_a_library_caller_s_process_is_never_frozen() -> None:
    # A long-lived process calling the library (a service, this test run) keeps collecting
    # whatever it loads once it is garbage.
    gc.unfreeze()
    with gcpause.paused(keep=True):
        built = [{"n": i} for i in range(1000)]
    assert gc.get_freeze_count() == 0 and built


def test_an_exception_in_the_block_still_restores_the_collector() -> None:
    try:
        with gcpause.paused():
            raise ValueError("boom")
    except ValueError:
        pass
    assert gc.isenabled()
