// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {console} from "forge-std/console.sol";
import {Base} from "./Base.t.sol";
import {IReceivableNotes} from "../../contracts/interfaces/IReceivableNotes.sol";
import {IMemberRegistry} from "../../contracts/interfaces/IMemberRegistry.sol";
import {LedgerAccess} from "../../contracts/libraries/LedgerAccess.sol";
import {Roles} from "../../contracts/libraries/Roles.sol";
import {IMemberHoldings} from "../../contracts/interfaces/IMemberHoldings.sol";

/// @notice Bulk payment (`splitBatch`): one split per recipient out of one note, all or nothing.
contract BulkPaymentTest is Base {
    uint256 internal constant N = 30;
    address[] internal payees; // tier-2 suppliers, each admitted, none holding a note yet
    uint256 internal slotId;
    uint256 internal noteId;

    function setUp() public override {
        super.setUp();
        vm.startPrank(operator);
        for (uint256 i; i < 100; ++i) {
            address a = makeAddr(string.concat("tier2-", vm.toString(i)));
            registry.admit(a, Roles.SUPPLIER, keccak256(abi.encode("kyc-tier2", i)), 100 + uint64(i), 0);
            payees.push(a);
        }
        vm.stopPrank();
        (slotId, noteId) = _issue();
    }

    function _lists(uint256 count, uint256 each) internal view returns (address[] memory to, uint256[] memory values) {
        to = new address[](count);
        values = new uint256[](count);
        for (uint256 i; i < count; ++i) {
            to[i] = payees[i % payees.length];
            values[i] = each;
        }
    }

    function _pay(address[] memory to, uint256[] memory values) internal returns (uint256) {
        vm.prank(supplier);
        return notes.splitBatch(noteId, to, values);
    }

    // ------------------------------------------------------------------ happy path

    function test_splitBatch_paysEveryRecipientANewNote() public {
        (address[] memory to, uint256[] memory values) = _lists(N, 1_000_00);
        uint256 before = notes.noteCount();
        uint256 first = _pay(to, values);
        assertEq(first, before + 1, "first new note");
        assertEq(notes.noteCount(), before + N, "note counter");
        for (uint256 i; i < N; ++i) {
            IReceivableNotes.Note memory n = notes.note(first + i);
            assertEq(notes.ownerOf(first + i), to[i], "holder");
            assertEq(n.value, 1_000_00, "value");
            assertEq(n.slotId, slotId, "slot");
            assertEq(n.parentId, noteId, "parent");
            assertEq(notes.balanceOf(to[i]), 1, "ERC-721 balance");
        }
        assertEq(notes.balanceOf(noteId), FACE - N * 1_000_00, "remainder");
        assertEq(notes.receivable(slotId).liveNotes, N + 1, "live notes");
    }

    function test_splitBatch_emitsWhatEachSplitEmits() public {
        address[] memory to = new address[](2);
        to[0] = payees[0];
        to[1] = payees[1];
        uint256[] memory values = new uint256[](2);
        values[0] = 300_00;
        values[1] = 700_00;
        uint256 next = notes.noteCount() + 1;
        for (uint256 i; i < 2; ++i) {
            vm.expectEmit(address(notes));
            emit IERC721Like.Transfer(address(0), to[i], next + i);
            vm.expectEmit(address(notes));
            emit IERC3525Like.SlotChanged(next + i, 0, slotId);
            vm.expectEmit(address(notes));
            emit IERC3525Like.TransferValue(noteId, next + i, values[i]);
            vm.expectEmit(address(notes));
            emit IReceivableNotes.NoteSplit(noteId, next + i, slotId, values[i]);
        }
        _pay(to, values);
    }

    function test_splitBatch_wholeValueBurnsTheSource() public {
        (address[] memory to, uint256[] memory values) = _lists(4, FACE / 4);
        uint256 first = _pay(to, values);
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.UnknownNote.selector, noteId));
        notes.balanceOf(noteId);
        assertEq(notes.balanceOf(supplier), 0, "supplier holds nothing");
        assertEq(notes.receivable(slotId).liveNotes, 4, "live notes: the four new ones");
        assertEq(notes.balanceOf(first + 3), FACE / 4);
    }

    function test_splitBatch_byValueAllowanceSpendsTheSum() public {
        vm.prank(supplier);
        notes.approve(noteId, bank, 5_000_00);
        (address[] memory to, uint256[] memory values) = _lists(3, 1_000_00);
        vm.prank(bank);
        notes.splitBatch(noteId, to, values);
        assertEq(notes.allowance(noteId, bank), 2_000_00, "allowance spent by the sum");
        vm.prank(bank);
        vm.expectRevert(
            abi.encodeWithSelector(IReceivableNotes.InsufficientAllowance.selector, noteId, bank, 2_000_00, 3_000_00)
        );
        notes.splitBatch(noteId, to, values);
    }

    function test_splitBatch_hundredRecipients() public {
        (address[] memory to, uint256[] memory values) = _lists(100, notes.minNoteValue(slotId));
        uint256 first = _pay(to, values);
        assertEq(notes.ownerOf(first + 99), payees[99]);
    }

    // ------------------------------------------------------------------ refusals (nothing changes)

    function _expectNothingChanged(uint256 countBefore) internal view {
        assertEq(notes.noteCount(), countBefore, "no note minted");
        assertEq(notes.balanceOf(noteId), FACE, "source untouched");
        assertEq(notes.receivable(slotId).liveNotes, 1, "live count untouched");
        for (uint256 i; i < N; ++i) {
            assertEq(notes.balanceOf(payees[i]), 0, "no recipient holds a note");
        }
    }

    function test_splitBatch_oneNonMemberFailsTheWholeBatch() public {
        (address[] memory to, uint256[] memory values) = _lists(N, 1_000_00);
        to[17] = outsider;
        uint256 before = notes.noteCount();
        vm.prank(supplier);
        vm.expectRevert(abi.encodeWithSelector(IMemberRegistry.NotAMember.selector, outsider));
        notes.splitBatch(noteId, to, values);
        _expectNothingChanged(before);
    }

    function test_splitBatch_oneSuspendedOrNonHolderFailsTheWholeBatch() public {
        (address[] memory to, uint256[] memory values) = _lists(N, 1_000_00);
        to[29] = suspended;
        uint256 before = notes.noteCount();
        vm.prank(supplier);
        vm.expectRevert(); // MemberNotActive(suspended, ...)
        notes.splitBatch(noteId, to, values);
        to[29] = auditor;
        vm.prank(supplier);
        vm.expectRevert(); // MissingRole(auditor, ...)
        notes.splitBatch(noteId, to, values);
        _expectNothingChanged(before);
    }

    function test_splitBatch_valueBelowMinimumNamesThePayment() public {
        (address[] memory to, uint256[] memory values) = _lists(N, 1_000_00);
        uint256 m = notes.minNoteValue(slotId); // FACE / 500 (the default cap), above the policy's 1.00
        values[12] = m - 1;
        uint256 before = notes.noteCount();
        vm.prank(supplier);
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.PaymentBelowMinimum.selector, 12, m - 1, m));
        notes.splitBatch(noteId, to, values);
        values[12] = 0;
        vm.prank(supplier);
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.PaymentBelowMinimum.selector, 12, 0, m));
        notes.splitBatch(noteId, to, values);
        _expectNothingChanged(before);
    }

    function test_splitBatch_minimumFollowsTheCap() public {
        vm.prank(operator);
        notes.setPolicy(100, 10, 365 days); // minimum = FACE / 10
        (address[] memory to, uint256[] memory values) = _lists(2, FACE / 10);
        values[1] = FACE / 10 - 1;
        vm.prank(supplier);
        vm.expectRevert(
            abi.encodeWithSelector(IReceivableNotes.PaymentBelowMinimum.selector, 1, FACE / 10 - 1, FACE / 10)
        );
        notes.splitBatch(noteId, to, values);
    }

    function test_splitBatch_remainderBelowMinimumReverts() public {
        (address[] memory to, uint256[] memory values) = _lists(2, FACE / 2);
        values[1] = FACE / 2 - 50; // leaves 0.50
        uint256 m = notes.minNoteValue(slotId);
        vm.prank(supplier);
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.ValueBelowMinimum.selector, 50, m));
        notes.splitBatch(noteId, to, values);
    }

    function test_splitBatch_moreThanTheNoteHoldsReverts() public {
        (address[] memory to, uint256[] memory values) = _lists(3, FACE / 2);
        vm.prank(supplier);
        vm.expectRevert(
            abi.encodeWithSelector(IReceivableNotes.InsufficientValue.selector, noteId, FACE, 3 * (FACE / 2))
        );
        notes.splitBatch(noteId, to, values);
    }

    function test_splitBatch_liveNoteCapAsTheSplitsWouldCheckIt() public {
        vm.prank(operator);
        notes.setPolicy(100, 4, 365 days); // minimum FACE / 4
        // the whole note to 4 recipients would end with 4 live notes, but the fourth split of a sequence would
        // start from 4 live notes: refused, as those splits would be
        (address[] memory to, uint256[] memory values) = _lists(4, FACE / 4);
        vm.prank(supplier);
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.TooManyLiveNotes.selector, slotId, 4));
        notes.splitBatch(noteId, to, values);
        (to, values) = _lists(3, FACE / 4); // live 1 + 3 = 4: allowed
        _pay(to, values);
        assertEq(notes.receivable(slotId).liveNotes, 4);
    }

    function test_splitBatch_batchBounds() public {
        (address[] memory to, uint256[] memory values) = _lists(101, 1_00);
        vm.prank(supplier);
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.InvalidBatch.selector, 101, 101));
        notes.splitBatch(noteId, to, values);
        (to, values) = _lists(0, 1_00);
        vm.prank(supplier);
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.InvalidBatch.selector, 0, 0));
        notes.splitBatch(noteId, to, values);
        (to,) = _lists(3, 1_00);
        (, values) = _lists(2, 1_00);
        vm.prank(supplier);
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.InvalidBatch.selector, 3, 2));
        notes.splitBatch(noteId, to, values);
    }

    function test_splitBatch_checksOfASplit() public {
        (address[] memory to, uint256[] memory values) = _lists(2, 1_000_00);
        vm.prank(outsider);
        vm.expectRevert(abi.encodeWithSelector(IMemberHoldings.NotApproved.selector, noteId, outsider));
        notes.splitBatch(noteId, to, values);

        vm.prank(supplier);
        notes.lock(noteId, bank);
        vm.prank(supplier);
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.NoteIsLocked.selector, noteId, bankId));
        notes.splitBatch(noteId, to, values);
        vm.prank(bank);
        notes.release(noteId);

        vm.prank(operator);
        notes.pause();
        vm.prank(supplier);
        vm.expectRevert(LedgerAccess.EnforcedPause.selector);
        notes.splitBatch(noteId, to, values);
        vm.prank(operator);
        notes.unpause();

        vm.warp(block.timestamp + TENOR);
        vm.prank(supplier);
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.SlotMatured.selector, slotId, uint64(block.timestamp)));
        notes.splitBatch(noteId, to, values);
    }

    // ------------------------------------------------------------------ fuzz

    /// @notice Value is conserved, every new note meets the minimum, and one bad recipient anywhere reverts all.
    function testFuzz_splitBatch_conservesValueOrChangesNothing(uint8 countSeed, uint256 seed, uint8 badAt) public {
        uint256 count = uint256(countSeed) % 40 + 1;
        address[] memory to = new address[](count);
        uint256[] memory values = new uint256[](count);
        uint256 total;
        for (uint256 i; i < count; ++i) {
            to[i] = payees[uint256(keccak256(abi.encode(seed, "to", i))) % payees.length];
            values[i] = uint256(keccak256(abi.encode(seed, "v", i))) % (FACE / 20);
            total += values[i];
        }
        bool bad = badAt < count;
        if (bad) to[badAt] = outsider;
        uint256 before = notes.noteCount();
        vm.prank(supplier);
        try notes.splitBatch(noteId, to, values) returns (uint256 first) {
            assertFalse(bad, "a batch with a non-member succeeded");
            uint256 sum = notes.balanceOf(noteId) == 0 ? 0 : notes.balanceOf(noteId);
            for (uint256 i; i < count; ++i) {
                uint256 v = notes.balanceOf(first + i);
                assertGe(v, notes.minNoteValue(slotId), "new note below the minimum");
                assertEq(v, values[i]);
                assertEq(notes.ownerOf(first + i), to[i]);
                sum += v;
            }
            assertEq(sum, FACE, "value conserved");
            assertEq(notes.receivable(slotId).liveNotes, count + 1);
        } catch {
            bool valuesOk = total <= FACE;
            for (uint256 i; i < count; ++i) {
                valuesOk = valuesOk && values[i] >= notes.minNoteValue(slotId);
            }
            assertTrue(bad || !valuesOk, "a valid batch was refused");
            assertEq(notes.noteCount(), before, "refused batch minted");
            assertEq(notes.balanceOf(noteId), FACE, "refused batch moved value");
        }
    }

    // ------------------------------------------------------------------ gas

    /// @notice Issue target: gas per recipient of a 30-recipient payment <= 0.6x one split, both to members that
    ///         held no note before, each measured on cold storage in its own transaction (tx base cost included:
    ///         21,000 + calldata, as a receipt counts them).
    function test_gas_bulkPerRecipient_atMostSixTenthsOfASplit() public {
        (address[] memory to, uint256[] memory values) = _lists(N, 1_000_00);
        bytes memory batch = abi.encodeCall(notes.splitBatch, (noteId, to, values));
        bytes memory single =
            abi.encodeWithSignature("transferFrom(uint256,address,uint256)", noteId, payees[N], 1_000_00);
        uint256 bulk = _txGas(batch);
        uint256 split = _txGas(single);
        uint256 perRecipient = bulk / N;
        console.log("bulk payment, 30 recipients", bulk);
        console.log("  per recipient", perRecipient);
        console.log("one split", split);
        assertLe(perRecipient * 10, split * 6, "gas per recipient must be at most 0.6x a split");
    }

    /// @dev Gas of one call as a transaction: execution on cold storage + 21,000 + EIP-2028 calldata (no state kept).
    function _txGas(bytes memory data) internal returns (uint256 used) {
        uint256 snap = vm.snapshotState();
        vm.cool(address(notes));
        vm.cool(address(registry));
        // a transaction's `to` is warm from the start (its 2,600 are in the 21,000): warm the account, not storage
        require(address(notes).code.length != 0);
        vm.prank(supplier);
        uint256 g = gasleft();
        (bool ok,) = address(notes).call(data);
        used = g - gasleft();
        require(ok, "call failed");
        vm.revertToState(snap);
        used += 21_000;
        for (uint256 i; i < data.length; ++i) {
            used += data[i] == 0 ? 4 : 16;
        }
    }
}

interface IERC721Like {
    event Transfer(address indexed from, address indexed to, uint256 indexed tokenId);
}

interface IERC3525Like {
    event TransferValue(uint256 indexed fromTokenId, uint256 indexed toTokenId, uint256 value);
    event SlotChanged(uint256 indexed tokenId, uint256 indexed oldSlot, uint256 indexed newSlot);
}
