// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {Base} from "./Base.t.sol";
import {IReceivableNotes} from "../../contracts/interfaces/IReceivableNotes.sol";
import {IOrderBook} from "../../contracts/interfaces/IOrderBook.sol";

/// @notice One end-to-end lifecycle through every contract.
contract LifecycleTest is Base {
    function test_lifecycle_orderToSettlement() public {
        uint256 orderId = _confirmedOrder(FACE);
        vm.prank(supplier);
        orders.pledge(orderId, bank);
        vm.prank(bank);
        uint256 loanId = financing.lend(orderId, 50_000_00, 500, uint64(block.timestamp + 30 days));
        assertEq(cash.balanceOf(supplier), 50_000_00);
        vm.prank(supplier);
        orders.deliver(orderId);
        vm.prank(core);
        (uint256 slotId, uint256 noteId) = orders.accept(orderId, FACE, uint64(block.timestamp + TENOR), keccak256("inv"));
        assertEq(notes.lienholderOf(noteId), bankId);
        // supplier repays the loan: lien released on order and note
        vm.warp(block.timestamp + 10 days);
        uint256 owed = financing.amountOwed(loanId);
        assertEq(owed, 50_000_00 + 6850); // ceil(5,000,000 * 500 * 10 / 3,650,000) = ceil(6,849.3)
        vm.prank(bank);
        cash.mint(supplier, 10_000_00, "deposit-supplier");
        vm.prank(supplier);
        financing.repay(loanId);
        assertEq(cash.balanceOf(supplier), 10_000_00 - 6850);
        assertEq(notes.lienholderOf(noteId), 0);
        assertEq(orders.lienholderOf(orderId), 0);

        // factoring: bank2 buys 40,000.00 of the note at 10% p.a.
        vm.prank(bank2);
        uint256 offerId = financing.makeOffer(noteId, 40_000_00, 1000, true, uint64(block.timestamp + 1 days));
        uint256 before = cash.balanceOf(supplier);
        vm.prank(supplier);
        financing.acceptOffer(offerId);
        uint256 bought = notes.noteCount();
        assertEq(notes.ownerOf(bought), bank2);
        assertEq(notes.balanceOf(bought), 40_000_00);
        assertGt(cash.balanceOf(supplier), before);

        // obligor funds, keeper settles both notes at maturity
        vm.startPrank(core);
        settlement.fund(slotId, FACE);
        vm.stopPrank();
        vm.warp(block.timestamp + TENOR);
        uint256 bank2Before = cash.balanceOf(bank2);
        settlement.settle(slotId, _ids(noteId, bought));
        assertEq(cash.balanceOf(bank2), bank2Before + 40_000_00);
        assertEq(uint8(notes.receivable(slotId).status), uint8(IReceivableNotes.SlotStatus.Settled));
        assertEq(registry.member(coreId).outstanding, 0);
        assertEq(uint8(orders.order(orderId).status), uint8(IOrderBook.OrderStatus.Invoiced));
    }
}
