// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {Vm} from "forge-std/Vm.sol";
import {Base} from "./Base.t.sol";
import {IMemberRegistry} from "../../contracts/interfaces/IMemberRegistry.sol";
import {IReceivableNotes} from "../../contracts/interfaces/IReceivableNotes.sol";

/// @notice Standard events: a key rotation emits ERC-721 `Transfer(old, new, id)` for every note and order of the
///         member (in bounded batches, the member frozen meanwhile); every burn emits `SlotChanged(id, slot, 0)`.
contract RotationEventsTest is Base {
    event Transfer(address indexed from, address indexed to, uint256 indexed tokenId);
    event SlotChanged(uint256 indexed _tokenId, uint256 indexed _oldSlot, uint256 indexed _newSlot);
    event RotationFinished(uint32 indexed memberId, uint32 indexed rotationId);

    address internal newSupplier = makeAddr("supplier-new-key");
    bytes32 internal constant TRANSFER = keccak256("Transfer(address,address,uint256)");
    bytes32 internal constant SLOT_CHANGED = keccak256("SlotChanged(uint256,uint256,uint256)");

    uint256 internal note1;
    uint256 internal note2;
    uint256 internal note3; // the bank's
    uint256 internal order1;

    function setUp() public override {
        super.setUp();
        vm.recordLogs();
        (, note1) = _issue();
        note3 = _split(supplier, note1, bank, 10_000_00);
        note2 = _split(supplier, note1, supplier, 20_000_00);
        order1 = _confirmedOrder(FACE);
    }

    function _rotateSupplier() internal {
        vm.prank(operator);
        registry.rotateAccount(supplierId, newSupplier);
    }

    /// @dev A generic indexer: the owner of each token is the `to` of its last Transfer event.
    function _rebuildOwners(Vm.Log[] memory logs, address token, uint256 count)
        internal
        pure
        returns (address[] memory owners)
    {
        owners = new address[](count + 1);
        for (uint256 i; i < logs.length; ++i) {
            Vm.Log memory l = logs[i];
            if (l.emitter != token || l.topics.length != 4 || l.topics[0] != TRANSFER) continue;
            owners[uint256(l.topics[3])] = address(uint160(uint256(l.topics[2])));
        }
    }

    function test_rotation_freezesUntilEveryTransferIsEmitted() public {
        _rotateSupplier();
        (uint32 rotationId, address previous, bool rotating) = registry.rotationOf(supplierId);
        assertEq(rotationId, 1);
        assertEq(previous, supplier);
        assertTrue(rotating);
        assertEq(notes.rotationPending(supplierId), 2);
        assertEq(orders.rotationPending(supplierId), 1);
        assertEq(notes.rotationPending(bankId), 0);

        // Frozen: the member can neither move its notes nor receive any.
        vm.expectRevert(abi.encodeWithSelector(IMemberRegistry.MemberRotating.selector, supplierId));
        vm.prank(newSupplier);
        notes.transferFrom(note1, bank, 1_000_00);
        vm.expectRevert(abi.encodeWithSelector(IMemberRegistry.MemberRotating.selector, supplierId));
        vm.prank(bank);
        notes.transferFrom(bank, newSupplier, note3);
        vm.expectRevert(abi.encodeWithSelector(IMemberRegistry.MemberRotating.selector, supplierId));
        vm.prank(operator);
        registry.rotateAccount(supplierId, makeAddr("third-key"));

        vm.expectRevert(
            abi.encodeWithSelector(IMemberRegistry.RotationIncomplete.selector, supplierId, address(notes), 2)
        );
        vm.prank(operator);
        registry.finishRotation(supplierId);

        // Batch 1: note1. Anyone may call; each event is true and emitted once.
        vm.expectEmit(address(notes));
        emit Transfer(supplier, newSupplier, note1);
        vm.prank(outsider);
        notes.emitRotationTransfers(supplierId, _ids(note1));
        assertEq(notes.rotationPending(supplierId), 1);
        // Announced already, or not the member's: skipped (no event), so a retried or raced batch never fails.
        vm.recordLogs();
        assertEq(notes.emitRotationTransfers(supplierId, _ids(note1, note3)), 0);
        assertEq(vm.getRecordedLogs().length, 0);
        assertEq(notes.rotationPending(supplierId), 1);
        vm.expectRevert(abi.encodeWithSelector(IMemberRegistry.MemberNotRotating.selector, bankId));
        notes.emitRotationTransfers(bankId, _ids(note3));

        // Batch 2: note2; the orders.
        notes.emitRotationTransfers(supplierId, _ids(note2));
        vm.expectRevert(
            abi.encodeWithSelector(IMemberRegistry.RotationIncomplete.selector, supplierId, address(orders), 1)
        );
        vm.prank(operator);
        registry.finishRotation(supplierId);
        vm.expectEmit(address(orders));
        emit Transfer(supplier, newSupplier, order1);
        orders.emitRotationTransfers(supplierId, _ids(order1));

        vm.expectEmit(address(registry));
        emit RotationFinished(supplierId, rotationId);
        vm.prank(operator);
        registry.finishRotation(supplierId);
        (,, rotating) = registry.rotationOf(supplierId);
        assertFalse(rotating);
        assertEq(notes.rotationPending(supplierId), 0);

        // Thawed: the new key moves the notes again.
        vm.prank(newSupplier);
        notes.transferFrom(newSupplier, bank, note2);
        assertEq(notes.ownerOf(note2), bank);
    }

    function test_rotation_eventOnlyRebuildOfOwnersMatchesOwnerOf() public {
        _rotateSupplier();
        notes.emitRotationTransfers(supplierId, _ids(note1, note2));
        orders.emitRotationTransfers(supplierId, _ids(order1));
        vm.prank(operator);
        registry.finishRotation(supplierId);
        vm.prank(newSupplier);
        notes.transferFrom(note2, bank, 5_000_00);

        Vm.Log[] memory logs = vm.getRecordedLogs();
        uint256 nc = notes.noteCount();
        address[] memory owners = _rebuildOwners(logs, address(notes), nc);
        for (uint256 id = 1; id <= nc; ++id) {
            assertEq(owners[id], notes.ownerOf(id), "note owner");
        }
        address[] memory orderOwners = _rebuildOwners(logs, address(orders), orders.orderCount());
        assertEq(orderOwners[order1], orders.ownerOf(order1), "order owner");
        assertEq(orderOwners[order1], newSupplier);
    }

    function test_rotation_memberWithoutTokensRotatesAtOnce() public {
        vm.expectEmit(address(registry));
        emit RotationFinished(bank2Id, 1);
        vm.prank(operator);
        registry.rotateAccount(bank2Id, makeAddr("bank2-new"));
        (,, bool rotating) = registry.rotationOf(bank2Id);
        assertFalse(rotating);
        vm.expectRevert(abi.encodeWithSelector(IMemberRegistry.MemberNotRotating.selector, bank2Id));
        vm.prank(operator);
        registry.finishRotation(bank2Id);
    }

    /// @dev A note leaving the frozen member (burned at settlement) keeps the pending count exact, whether its
    ///      rotation Transfer was emitted or not.
    function test_rotation_burnDuringRotationKeepsPendingExact() public {
        uint256 slotId = notes.slotOf(note1);
        _rotateSupplier();
        notes.emitRotationTransfers(supplierId, _ids(note1));
        assertEq(notes.rotationPending(supplierId), 1);
        vm.warp(block.timestamp + TENOR);
        vm.prank(core);
        settlement.fund(slotId, FACE);
        settlement.settle(slotId, _ids(note1)); // announced note burned
        assertEq(notes.rotationPending(supplierId), 1);
        settlement.settle(slotId, _ids(note2)); // unannounced note burned
        assertEq(notes.rotationPending(supplierId), 0);
        assertEq(orders.rotationPending(supplierId), 1);
        orders.emitRotationTransfers(supplierId, _ids(order1));
        vm.prank(operator);
        registry.finishRotation(supplierId);
    }

    function test_rotation_manyNotesInBoundedBatches() public {
        uint256[] memory ids = new uint256[](60);
        ids[0] = note1;
        for (uint256 i = 1; i < 60; ++i) {
            ids[i] = _split(supplier, note1, supplier, 1_000_00);
        }
        _rotateSupplier();
        assertEq(notes.rotationPending(supplierId), 61);
        for (uint256 start; start < 60; start += 20) {
            uint256[] memory batch = new uint256[](20);
            for (uint256 i; i < 20; ++i) {
                batch[i] = ids[start + i];
            }
            uint256 g = gasleft();
            notes.emitRotationTransfers(supplierId, batch);
            assertLt(g - gasleft(), 20 * 30_000, "a batch costs at most 30,000 gas a note");
        }
        notes.emitRotationTransfers(supplierId, _ids(note2));
        orders.emitRotationTransfers(supplierId, _ids(order1));
        vm.prank(operator);
        registry.finishRotation(supplierId);
    }

    function test_burn_emitsSlotChangedToZero_eventRebuildOfSlotsMatches() public {
        uint256 slotId = notes.slotOf(note1);
        vm.warp(block.timestamp + TENOR);
        vm.prank(core);
        settlement.fund(slotId, FACE);
        vm.expectEmit(address(notes));
        emit SlotChanged(note1, slotId, 0);
        settlement.settle(slotId, _ids(note1));
        vm.prank(bank);
        settlement.redeem(note3);

        // Event-only rebuild of the slot's live notes.
        Vm.Log[] memory logs = vm.getRecordedLogs();
        uint256 nc = notes.noteCount();
        uint256[] memory slotOfNote = new uint256[](nc + 1);
        for (uint256 i; i < logs.length; ++i) {
            Vm.Log memory l = logs[i];
            if (l.emitter != address(notes) || l.topics[0] != SLOT_CHANGED) continue;
            slotOfNote[uint256(l.topics[1])] = uint256(l.topics[3]);
        }
        assertEq(slotOfNote[note1], 0);
        assertEq(slotOfNote[note3], 0);
        assertEq(slotOfNote[note2], slotId);
        assertEq(notes.slotOf(note2), slotId);
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.UnknownNote.selector, note1));
        notes.slotOf(note1);
    }
}
