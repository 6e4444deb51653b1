// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {Base} from "./Base.t.sol";
import {IFinancing} from "../../contracts/interfaces/IFinancing.sol";
import {Financing} from "../../contracts/financing/Financing.sol";
import {IReceivableNotes} from "../../contracts/interfaces/IReceivableNotes.sol";
import {IMemberHoldings} from "../../contracts/interfaces/IMemberHoldings.sol";
import {IOrderBook} from "../../contracts/interfaces/IOrderBook.sol";
import {IMemberRegistry} from "../../contracts/interfaces/IMemberRegistry.sol";
import {Roles} from "../../contracts/libraries/Roles.sol";

/// @notice Fraud replays: every attempt to double-spend a document, order or note reverts with the exact error.
contract FraudTest is Base {
    bytes32 internal constant INV = keccak256("invoice-1");

    function _deliveredOrder(uint128 amount) internal returns (uint256 orderId) {
        orderId = _confirmedOrder(amount);
        vm.prank(supplier);
        orders.deliver(orderId);
    }

    function _accept(uint256 orderId, uint128 face, bytes32 invoice) internal returns (uint256 slotId, uint256 noteId) {
        vm.prank(core);
        (slotId, noteId) = orders.accept(orderId, face, uint64(block.timestamp + TENOR), invoice);
    }

    function _offer(address financier, uint256 noteId, uint96 value) internal returns (uint256 offerId) {
        vm.prank(financier);
        offerId = financing.makeOffer(noteId, value, 1000, false, uint64(block.timestamp + 1 days));
    }

    // ================================================================== double tokenisation of an invoice

    function test_issue_revertsInvoiceAlreadyTokenised_sameSupplier() public {
        (uint256 slotId,) = _issue(supplier, FACE, INV);
        vm.prank(core);
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.InvoiceAlreadyTokenised.selector, INV, slotId));
        notes.issue(supplier, FACE, address(cash), uint64(block.timestamp + TENOR), INV);
        assertEq(notes.slotCount(), 1);
        assertEq(registry.member(coreId).outstanding, FACE);
    }

    function test_issue_revertsInvoiceAlreadyTokenised_otherSupplier() public {
        (uint256 slotId,) = _issue(supplier, FACE, INV);
        vm.prank(core);
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.InvoiceAlreadyTokenised.selector, INV, slotId));
        notes.issue(supplier2, FACE / 2, address(cash), uint64(block.timestamp + 30 days), INV);
    }

    function test_issue_revertsInvoiceAlreadyTokenised_otherObligor() public {
        (uint256 slotId,) = _issue(supplier, FACE, INV);
        vm.prank(core2);
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.InvoiceAlreadyTokenised.selector, INV, slotId));
        notes.issue(supplier2, FACE, address(cash), uint64(block.timestamp + TENOR), INV);
        assertEq(registry.member(core2Id).outstanding, 0);
    }

    function test_issue_revertsInvoiceAlreadyTokenised_afterSettlement() public {
        (uint256 slotId, uint256 noteId) = _issue(supplier, FACE, INV);
        vm.prank(core);
        settlement.fund(slotId, FACE);
        vm.warp(block.timestamp + TENOR);
        settlement.settle(slotId, _ids(noteId));
        vm.prank(core);
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.InvoiceAlreadyTokenised.selector, INV, slotId));
        notes.issue(supplier, FACE, address(cash), uint64(block.timestamp + TENOR), INV);
    }

    function test_accept_revertsInvoiceAlreadyTokenised_usedDirectly() public {
        (uint256 slotId,) = _issue(supplier, FACE, INV);
        uint256 orderId = _deliveredOrder(FACE);
        vm.prank(core);
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.InvoiceAlreadyTokenised.selector, INV, slotId));
        orders.accept(orderId, FACE, uint64(block.timestamp + TENOR), INV);
        assertEq(uint8(orders.order(orderId).status), uint8(IOrderBook.OrderStatus.Delivered));
        assertEq(notes.slotOfOrder(orderId), 0);
        assertEq(registry.member(coreId).outstanding, FACE);
    }

    function test_issue_revertsInvoiceAlreadyTokenised_usedByOrder() public {
        uint256 orderId = _deliveredOrder(FACE);
        (uint256 slotId,) = _accept(orderId, FACE, INV);
        vm.prank(core);
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.InvoiceAlreadyTokenised.selector, INV, slotId));
        notes.issue(supplier, FACE, address(cash), uint64(block.timestamp + TENOR), INV);
    }

    // ================================================================== orders

    function test_accept_revertsInvalidOrderState_acceptedTwice() public {
        uint256 orderId = _deliveredOrder(FACE);
        _accept(orderId, FACE, INV);
        vm.prank(core);
        vm.expectRevert(
            abi.encodeWithSelector(IOrderBook.InvalidOrderState.selector, orderId, IOrderBook.OrderStatus.Invoiced)
        );
        orders.accept(orderId, FACE, uint64(block.timestamp + TENOR), keccak256("invoice-2"));
        assertEq(notes.slotCount(), 1);
        assertEq(registry.member(coreId).outstanding, FACE);
    }

    function test_pledge_revertsOrderAlreadyPledged_secondFinancier() public {
        uint256 orderId = _confirmedOrder(FACE);
        vm.prank(supplier);
        orders.pledge(orderId, bank);
        vm.prank(supplier);
        vm.expectRevert(abi.encodeWithSelector(IOrderBook.OrderAlreadyPledged.selector, orderId, bankId));
        orders.pledge(orderId, bank2);
        assertEq(orders.lienholderOf(orderId), bankId);
    }

    function test_pledge_revertsOrderAlreadyPledged_afterDelivery() public {
        uint256 orderId = _confirmedOrder(FACE);
        vm.prank(supplier);
        orders.pledge(orderId, bank);
        vm.prank(supplier);
        orders.deliver(orderId);
        vm.prank(supplier);
        vm.expectRevert(abi.encodeWithSelector(IOrderBook.OrderAlreadyPledged.selector, orderId, bankId));
        orders.pledge(orderId, bank2);
    }

    function test_pledge_revertsInvalidOrderState_pledgeAfterInvoicing() public {
        uint256 orderId = _confirmedOrder(FACE);
        vm.prank(supplier);
        orders.pledge(orderId, bank);
        vm.prank(supplier);
        orders.deliver(orderId);
        _accept(orderId, FACE, INV);
        vm.prank(supplier);
        vm.expectRevert(
            abi.encodeWithSelector(IOrderBook.InvalidOrderState.selector, orderId, IOrderBook.OrderStatus.Invoiced)
        );
        orders.pledge(orderId, bank2);
    }

    function test_pledge_revertsInvalidOrderState_unpledgedOrderAfterInvoicing() public {
        uint256 orderId = _deliveredOrder(FACE);
        (, uint256 noteId) = _accept(orderId, FACE, INV);
        assertEq(notes.lienholderOf(noteId), 0);
        vm.prank(supplier);
        vm.expectRevert(
            abi.encodeWithSelector(IOrderBook.InvalidOrderState.selector, orderId, IOrderBook.OrderStatus.Invoiced)
        );
        orders.pledge(orderId, bank);
    }

    function test_transferFrom_revertsOrderAlreadyPledged_movingPledgedOrder() public {
        uint256 orderId = _confirmedOrder(FACE);
        vm.prank(supplier);
        orders.pledge(orderId, bank);
        vm.prank(supplier);
        vm.expectRevert(abi.encodeWithSelector(IOrderBook.OrderAlreadyPledged.selector, orderId, bankId));
        orders.transferFrom(supplier, supplier2, orderId);
    }

    function test_lend_revertsOrderNotPledgedTo_secondFinancierLends() public {
        uint256 orderId = _confirmedOrder(FACE);
        vm.prank(supplier);
        orders.pledge(orderId, bank);
        vm.prank(bank2);
        vm.expectRevert(abi.encodeWithSelector(IFinancing.OrderNotPledgedTo.selector, orderId, bankId, bank2Id));
        financing.lend(orderId, 10_000_00, 500, uint64(block.timestamp + 30 days));
    }

    // ================================================================== a note sold twice

    function test_acceptOffer_revertsNotNoteHolder_wholeNoteSoldTwice() public {
        (, uint256 noteId) = _issue(supplier, FACE, INV);
        uint256 o1 = _offer(bank, noteId, uint96(FACE));
        uint256 o2 = _offer(bank2, noteId, uint96(FACE));
        vm.prank(supplier);
        financing.acceptOffer(o1);
        assertEq(notes.ownerOf(noteId), bank);
        uint256 supplierCash = cash.balanceOf(supplier);
        uint256 bank2Cash = cash.balanceOf(bank2);
        vm.prank(supplier);
        vm.expectRevert(abi.encodeWithSelector(IFinancing.NotNoteHolder.selector, noteId, supplier));
        financing.acceptOffer(o2);
        assertEq(cash.balanceOf(supplier), supplierCash);
        assertEq(cash.balanceOf(bank2), bank2Cash);
        assertEq(notes.ownerOf(noteId), bank);
    }

    function test_acceptOffer_revertsInsufficientValue_partialSalesBeyondValue() public {
        (, uint256 noteId) = _issue(supplier, FACE, INV);
        uint256 o1 = _offer(bank, noteId, 60_000_00);
        uint256 o2 = _offer(bank2, noteId, 60_000_00);
        vm.prank(supplier);
        financing.acceptOffer(o1);
        assertEq(notes.balanceOf(noteId), 40_000_00);
        uint256 supplierCash = cash.balanceOf(supplier);
        vm.prank(supplier);
        vm.expectRevert(
            abi.encodeWithSelector(IReceivableNotes.InsufficientValue.selector, noteId, 40_000_00, 60_000_00)
        );
        financing.acceptOffer(o2);
        assertEq(cash.balanceOf(supplier), supplierCash);
        assertEq(notes.balanceOf(noteId), 40_000_00);
    }

    function test_acceptOffer_revertsOfferNotOpen_sameOfferTwice() public {
        (, uint256 noteId) = _issue(supplier, FACE, INV);
        uint256 o1 = _offer(bank, noteId, 30_000_00);
        vm.prank(supplier);
        financing.acceptOffer(o1);
        vm.prank(supplier);
        vm.expectRevert(abi.encodeWithSelector(IFinancing.OfferNotOpen.selector, o1, IFinancing.OfferStatus.Accepted));
        financing.acceptOffer(o1);
    }

    // ================================================================== after maturity / settlement

    function test_transferFrom_revertsSlotMatured_splitAfterMaturity() public {
        (uint256 slotId, uint256 noteId) = _issue(supplier, FACE, INV);
        uint64 maturity = notes.receivable(slotId).maturity;
        vm.warp(maturity);
        vm.prank(supplier);
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.SlotMatured.selector, slotId, maturity));
        notes.transferFrom(noteId, bank, 10_000_00);
    }

    function test_transferFrom_revertsSlotMatured_wholeTransferAfterMaturity() public {
        (uint256 slotId, uint256 noteId) = _issue(supplier, FACE, INV);
        uint64 maturity = notes.receivable(slotId).maturity;
        vm.warp(maturity + 1);
        vm.prank(supplier);
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.SlotMatured.selector, slotId, maturity));
        notes.transferFrom(supplier, bank, noteId);
    }

    function test_acceptOffer_revertsSlotMatured_saleAfterMaturity() public {
        (uint256 slotId, uint256 noteId) = _issue(supplier, FACE, INV);
        uint64 maturity = notes.receivable(slotId).maturity;
        vm.prank(bank);
        uint256 offerId = financing.makeOffer(noteId, 50_000_00, 1000, false, maturity + 1 days);
        vm.warp(maturity);
        vm.prank(supplier);
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.SlotMatured.selector, slotId, maturity));
        financing.acceptOffer(offerId);
    }

    function test_transferFrom_revertsUnknownNote_splitAfterSettlement() public {
        (uint256 slotId, uint256 noteId) = _issue(supplier, FACE, INV);
        vm.prank(core);
        settlement.fund(slotId, FACE);
        vm.warp(block.timestamp + TENOR);
        settlement.settle(slotId, _ids(noteId));
        vm.prank(supplier);
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.UnknownNote.selector, noteId));
        notes.transferFrom(noteId, bank, 10_000_00);
        vm.prank(bank);
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.UnknownNote.selector, noteId));
        financing.makeOffer(noteId, 10_000_00, 1000, false, uint64(block.timestamp + 1 days));
    }

    function test_transferFrom_revertsSlotNotActive_splitAfterDefault() public {
        (uint256 slotId, uint256 noteId) = _issue(supplier, FACE, INV);
        vm.warp(block.timestamp + TENOR + 7 days);
        settlement.markDefault(slotId);
        vm.prank(supplier);
        vm.expectRevert(
            abi.encodeWithSelector(
                IReceivableNotes.SlotNotActive.selector, slotId, IReceivableNotes.SlotStatus.Defaulted
            )
        );
        notes.transferFrom(noteId, bank, 10_000_00);
    }

    // ================================================================== recipients

    function test_transferFrom_revertsMemberNotActive_splitToSuspended() public {
        (, uint256 noteId) = _issue(supplier, FACE, INV);
        vm.prank(supplier);
        vm.expectRevert(
            abi.encodeWithSelector(
                IMemberRegistry.MemberNotActive.selector, suspended, IMemberRegistry.Status.Suspended
            )
        );
        notes.transferFrom(noteId, suspended, 10_000_00);
    }

    function test_transferFrom_revertsMemberNotActive_wholeToSuspended() public {
        (, uint256 noteId) = _issue(supplier, FACE, INV);
        vm.prank(supplier);
        vm.expectRevert(
            abi.encodeWithSelector(
                IMemberRegistry.MemberNotActive.selector, suspended, IMemberRegistry.Status.Suspended
            )
        );
        notes.transferFrom(supplier, suspended, noteId);
    }

    function test_transferFrom_revertsNotAMember_splitToOutsider() public {
        (, uint256 noteId) = _issue(supplier, FACE, INV);
        vm.prank(supplier);
        vm.expectRevert(abi.encodeWithSelector(IMemberRegistry.NotAMember.selector, outsider));
        notes.transferFrom(noteId, outsider, 10_000_00);
    }

    function test_transferFrom_revertsNotAMember_wholeToOutsider() public {
        (, uint256 noteId) = _issue(supplier, FACE, INV);
        vm.prank(supplier);
        vm.expectRevert(abi.encodeWithSelector(IMemberRegistry.NotAMember.selector, outsider));
        notes.transferFrom(supplier, outsider, noteId);
    }

    function test_transferFrom_revertsMissingRole_toAuditor() public {
        (, uint256 noteId) = _issue(supplier, FACE, INV);
        vm.prank(supplier);
        vm.expectRevert(
            abi.encodeWithSelector(IMemberRegistry.MissingRole.selector, auditor, Roles.HOLDER, Roles.AUDITOR)
        );
        notes.transferFrom(noteId, auditor, 10_000_00);
    }

    function test_transferFrom_revertsMemberNotActive_suspendedHolderMoves() public {
        (, uint256 noteId) = _issue(supplier2, FACE, INV);
        vm.prank(operator);
        registry.suspend(supplier2Id);
        vm.prank(supplier2);
        vm.expectRevert(
            abi.encodeWithSelector(
                IMemberRegistry.MemberNotActive.selector, supplier2, IMemberRegistry.Status.Suspended
            )
        );
        notes.transferFrom(noteId, bank, 10_000_00);
    }

    // ================================================================== credit limit

    function test_issue_revertsCreditLimitExceeded() public {
        _issue(supplier, CREDIT - 1, INV);
        vm.prank(core);
        vm.expectRevert(
            abi.encodeWithSelector(IMemberRegistry.CreditLimitExceeded.selector, coreId, CREDIT - 1, 2, CREDIT)
        );
        notes.issue(supplier, 2, address(cash), uint64(block.timestamp + TENOR), keccak256("invoice-2"));
        // exactly up to the limit is fine
        _issue(supplier, 1, keccak256("invoice-3"));
        assertEq(registry.member(coreId).outstanding, CREDIT);
    }

    function test_issue_revertsCreditLimitExceeded_singleIssueAboveLimit() public {
        vm.prank(core);
        vm.expectRevert(
            abi.encodeWithSelector(IMemberRegistry.CreditLimitExceeded.selector, coreId, 0, uint256(CREDIT) + 1, CREDIT)
        );
        notes.issue(supplier, CREDIT + 1, address(cash), uint64(block.timestamp + TENOR), INV);
    }

    function test_accept_revertsCreditLimitExceeded() public {
        _issue(supplier, CREDIT - FACE + 1, INV);
        uint256 orderId = _deliveredOrder(FACE);
        vm.prank(core);
        vm.expectRevert(
            abi.encodeWithSelector(
                IMemberRegistry.CreditLimitExceeded.selector, coreId, CREDIT - FACE + 1, FACE, CREDIT
            )
        );
        orders.accept(orderId, FACE, uint64(block.timestamp + TENOR), keccak256("invoice-2"));
        assertEq(uint8(orders.order(orderId).status), uint8(IOrderBook.OrderStatus.Delivered));
    }

    // ================================================================== pledged notes

    function _pledgedNote() internal returns (uint256 slotId, uint256 noteId) {
        uint256 orderId = _confirmedOrder(FACE);
        vm.prank(supplier);
        orders.pledge(orderId, bank);
        vm.prank(supplier);
        orders.deliver(orderId);
        (slotId, noteId) = _accept(orderId, FACE, INV);
        assertEq(notes.lienholderOf(noteId), bankId);
    }

    function test_transferFrom_revertsNoteIsLocked_splitPledgedNote() public {
        (, uint256 noteId) = _pledgedNote();
        vm.prank(supplier);
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.NoteIsLocked.selector, noteId, bankId));
        notes.transferFrom(noteId, supplier2, 10_000_00);
    }

    function test_transferFrom_revertsNoteIsLocked_wholePledgedNote() public {
        (, uint256 noteId) = _pledgedNote();
        vm.prank(supplier);
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.NoteIsLocked.selector, noteId, bankId));
        notes.transferFrom(supplier, supplier2, noteId);
    }

    function test_acceptOffer_revertsNoteIsLocked_sellPledgedNote() public {
        (, uint256 noteId) = _pledgedNote();
        uint256 partialOffer = _offer(bank2, noteId, 50_000_00);
        uint256 whole = _offer(bank2, noteId, uint96(FACE));
        vm.prank(supplier);
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.NoteIsLocked.selector, noteId, bankId));
        financing.acceptOffer(partialOffer);
        vm.prank(supplier);
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.NoteIsLocked.selector, noteId, bankId));
        financing.acceptOffer(whole);
    }

    function test_lock_revertsNoteIsLocked_pledgeTwice() public {
        (, uint256 noteId) = _issue(supplier, FACE, INV);
        vm.prank(supplier);
        notes.lock(noteId, bank);
        vm.prank(supplier);
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.NoteIsLocked.selector, noteId, bankId));
        notes.lock(noteId, bank2);
        vm.prank(supplier);
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.NoteIsLocked.selector, noteId, bankId));
        notes.transferFrom(noteId, supplier2, 10_000_00);
    }

    function test_transferFrom_revertsNoteIsLocked_valueIntoPledgedNote() public {
        (, uint256 noteId) = _issue(supplier, FACE, INV);
        uint256 other = _split(supplier, noteId, supplier, 20_000_00);
        vm.prank(supplier);
        notes.lock(noteId, bank);
        vm.prank(supplier);
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.NoteIsLocked.selector, noteId, bankId));
        notes.transferFrom(other, noteId, 10_000_00);
    }

    // ================================================================== approvals replayed

    function test_transferFrom_revertsNotApproved_staleApprovalAfterNoteMoved() public {
        (, uint256 noteId) = _issue(supplier, FACE, INV);
        vm.prank(supplier);
        notes.approve(bank2, noteId);
        assertEq(notes.getApproved(noteId), bank2);
        vm.prank(supplier);
        notes.transferFrom(supplier, bank, noteId);
        // bank2's approval was for the previous holder: it cannot take the note from bank
        assertEq(notes.getApproved(noteId), address(0));
        vm.prank(bank2);
        vm.expectRevert(abi.encodeWithSelector(IMemberHoldings.NotApproved.selector, noteId, bank2));
        notes.transferFrom(bank, bank2, noteId);
    }

    function test_transferFrom_revertsNotApproved_staleValueAllowanceAfterNoteMoved() public {
        (, uint256 noteId) = _issue(supplier, FACE, INV);
        vm.prank(supplier);
        notes.approve(noteId, bank2, 30_000_00);
        vm.prank(supplier);
        notes.transferFrom(supplier, bank, noteId);
        assertEq(notes.allowance(noteId, bank2), 0);
        vm.prank(bank2);
        vm.expectRevert(abi.encodeWithSelector(IMemberHoldings.NotApproved.selector, noteId, bank2));
        notes.transferFrom(noteId, bank2, 10_000_00);
    }

    function test_transferFrom_revertsInsufficientAllowance_valueAllowanceSpentTwice() public {
        (, uint256 noteId) = _issue(supplier, FACE, INV);
        vm.prank(supplier);
        notes.approve(noteId, bank2, 30_000_00);
        vm.prank(bank2);
        notes.transferFrom(noteId, bank2, 20_000_00);
        assertEq(notes.allowance(noteId, bank2), 10_000_00);
        vm.prank(bank2);
        vm.expectRevert(
            abi.encodeWithSelector(IReceivableNotes.InsufficientAllowance.selector, noteId, bank2, 10_000_00, 20_000_00)
        );
        notes.transferFrom(noteId, bank2, 20_000_00);
    }

    function test_transferFrom_revertsInsufficientValue_splitBeyondValue() public {
        (, uint256 noteId) = _issue(supplier, FACE, INV);
        _split(supplier, noteId, bank, 60_000_00);
        vm.prank(supplier);
        vm.expectRevert(
            abi.encodeWithSelector(IReceivableNotes.InsufficientValue.selector, noteId, 40_000_00, 60_000_00)
        );
        notes.transferFrom(noteId, bank2, 60_000_00);
    }

    // ================================================================== other replays

    function test_lend_revertsLoanExists_sameOrderFinancedTwice() public {
        uint256 orderId = _confirmedOrder(FACE);
        vm.prank(supplier);
        orders.pledge(orderId, bank);
        vm.prank(bank);
        uint256 loanId = financing.lend(orderId, 50_000_00, 500, uint64(block.timestamp + 30 days));
        vm.prank(bank);
        vm.expectRevert(abi.encodeWithSelector(IFinancing.LoanExists.selector, orderId, loanId));
        financing.lend(orderId, 10_000_00, 500, uint64(block.timestamp + 30 days));
        assertEq(cash.balanceOf(supplier), 50_000_00);
    }

    function test_issue_revertsMissingRole_supplierIssuesOwnReceivable() public {
        vm.prank(supplier);
        vm.expectRevert(
            abi.encodeWithSelector(
                IMemberRegistry.MissingRole.selector, supplier, Roles.CORE_ENTERPRISE, Roles.SUPPLIER
            )
        );
        notes.issue(supplier2, FACE, address(cash), uint64(block.timestamp + TENOR), INV);
    }

    function test_issue_revertsInvalidRecipient_obligorIssuesToItself() public {
        vm.prank(core);
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.InvalidRecipient.selector, core));
        notes.issue(core, FACE, address(cash), uint64(block.timestamp + TENOR), INV);
    }

    function test_claimRecourse_revertsInvalidRecourseState_claimedTwice() public {
        (uint256 slotId, uint256 noteId) = _issue(supplier, FACE, INV);
        vm.prank(bank);
        uint256 offerId = financing.makeOffer(noteId, 40_000_00, 1000, true, uint64(block.timestamp + 1 days));
        vm.prank(supplier);
        uint256 purchaseId = financing.acceptOffer(offerId);
        vm.warp(block.timestamp + TENOR + 7 days);
        settlement.markDefault(slotId);
        vm.prank(bank);
        financing.claimRecourse(purchaseId);
        vm.prank(bank);
        vm.expectRevert(
            abi.encodeWithSelector(
                IFinancing.InvalidRecourseState.selector, purchaseId, IFinancing.RecourseStatus.Claimed
            )
        );
        financing.claimRecourse(purchaseId);
    }
}
