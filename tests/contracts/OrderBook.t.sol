// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {IERC721} from "@openzeppelin/contracts/token/ERC721/IERC721.sol";
import {IERC165} from "@openzeppelin/contracts/utils/introspection/IERC165.sol";
import {Base} from "./Base.t.sol";
import {OrderBook} from "../../contracts/orders/OrderBook.sol";
import {LedgerAccess} from "../../contracts/libraries/LedgerAccess.sol";
import {Roles} from "../../contracts/libraries/Roles.sol";
import {IMemberHoldings} from "../../contracts/interfaces/IMemberHoldings.sol";
import {IOrderBook} from "../../contracts/interfaces/IOrderBook.sol";
import {IReceivableNotes} from "../../contracts/interfaces/IReceivableNotes.sol";
import {IMemberRegistry} from "../../contracts/interfaces/IMemberRegistry.sol";

/// @notice Unit tests of the confirmed-order book (ERC-721 orders, lifecycle, pledges).
contract OrderBookTest is Base {
    bytes32 internal constant DOC = keccak256("po-1");
    bytes32 internal constant INV = keccak256("inv-order-1");
    uint64 internal constant DUE = 60 days;

    // ------------------------------------------------------------------ helpers

    function _propose() internal returns (uint256 orderId) {
        vm.prank(supplier);
        orderId = orders.propose(core, FACE, address(cash), DOC, uint64(block.timestamp + DUE));
    }

    function _delivered() internal returns (uint256 orderId) {
        orderId = _confirmedOrder(FACE);
        vm.prank(supplier);
        orders.deliver(orderId);
    }

    function _accept(uint256 orderId, uint128 face) internal returns (uint256 slotId, uint256 noteId) {
        vm.prank(core);
        (slotId, noteId) = orders.accept(orderId, face, uint64(block.timestamp + TENOR), INV);
    }

    function _pledge(uint256 orderId, address financier) internal {
        vm.prank(supplier);
        orders.pledge(orderId, financier);
    }

    function _pause() internal {
        vm.prank(operator);
        orders.pause();
    }

    function _status(uint256 orderId) internal view returns (IOrderBook.OrderStatus) {
        return orders.order(orderId).status;
    }

    function _expectState(uint256 orderId, IOrderBook.OrderStatus s) internal {
        vm.expectRevert(abi.encodeWithSelector(IOrderBook.InvalidOrderState.selector, orderId, s));
    }

    // ------------------------------------------------------------------ propose

    function test_propose_mintsOrderToSupplier() public {
        uint64 due = uint64(block.timestamp + DUE);
        vm.expectEmit(address(orders));
        emit IERC721.Transfer(address(0), supplier, 1);
        vm.expectEmit(address(orders));
        emit IOrderBook.OrderProposed(1, supplierId, coreId, FACE, address(cash), DOC, due);
        vm.prank(supplier);
        uint256 orderId = orders.propose(core, FACE, address(cash), DOC, due);

        assertEq(orderId, 1);
        assertEq(orders.orderCount(), 1);
        IOrderBook.Order memory o = orders.order(orderId);
        assertEq(o.supplierId, supplierId);
        assertEq(o.buyerId, coreId);
        assertEq(o.lienholderId, 0);
        assertEq(uint8(o.status), uint8(IOrderBook.OrderStatus.Proposed));
        assertEq(o.dueDate, due);
        assertEq(o.amount, FACE);
        assertEq(o.cashToken, address(cash));
        assertEq(o.documentHash, DOC);
        assertEq(o.slotId, 0);
        assertEq(orders.ownerOf(orderId), supplier);
        assertEq(orders.holderOf(orderId), supplierId);
        assertEq(orders.balanceOf(supplier), 1);
        assertEq(orders.balanceOf(core), 0);
    }

    function test_propose_idsIncrement() public {
        uint256 a = _propose();
        uint256 b = _propose();
        assertEq(a, 1);
        assertEq(b, 2);
        assertEq(orders.orderCount(), 2);
        assertEq(orders.balanceOf(supplier), 2);
    }

    function test_propose_revertsWhenCallerNotSupplier() public {
        vm.expectRevert(
            abi.encodeWithSelector(IMemberRegistry.MissingRole.selector, core, Roles.SUPPLIER, Roles.CORE_ENTERPRISE)
        );
        vm.prank(core);
        orders.propose(core2, FACE, address(cash), DOC, uint64(block.timestamp + DUE));
    }

    function test_propose_revertsWhenCallerOutsider() public {
        vm.expectRevert(abi.encodeWithSelector(IMemberRegistry.NotAMember.selector, outsider));
        vm.prank(outsider);
        orders.propose(core, FACE, address(cash), DOC, uint64(block.timestamp + DUE));
    }

    function test_propose_revertsWhenCallerSuspended() public {
        vm.expectRevert(
            abi.encodeWithSelector(IMemberRegistry.MemberNotActive.selector, suspended, IMemberRegistry.Status.Suspended)
        );
        vm.prank(suspended);
        orders.propose(core, FACE, address(cash), DOC, uint64(block.timestamp + DUE));
    }

    function test_propose_revertsWhenBuyerNotCoreEnterprise() public {
        vm.expectRevert(
            abi.encodeWithSelector(IMemberRegistry.MissingRole.selector, bank, Roles.CORE_ENTERPRISE, Roles.FINANCIER)
        );
        vm.prank(supplier);
        orders.propose(bank, FACE, address(cash), DOC, uint64(block.timestamp + DUE));
    }

    function test_propose_revertsWhenBuyerOutsider() public {
        vm.expectRevert(abi.encodeWithSelector(IMemberRegistry.NotAMember.selector, outsider));
        vm.prank(supplier);
        orders.propose(outsider, FACE, address(cash), DOC, uint64(block.timestamp + DUE));
    }

    function test_propose_revertsWhenSelfDealing() public {
        address dual = makeAddr("dual");
        vm.prank(operator);
        registry.admit(dual, Roles.SUPPLIER | Roles.CORE_ENTERPRISE, keccak256("kyc-dual"), 9, CREDIT);
        vm.expectRevert(abi.encodeWithSelector(IOrderBook.SelfDealing.selector, dual));
        vm.prank(dual);
        orders.propose(dual, FACE, address(cash), DOC, uint64(block.timestamp + DUE));
    }

    function test_propose_revertsWhenAmountZero() public {
        vm.expectRevert(abi.encodeWithSelector(IOrderBook.InvalidAmount.selector, 0));
        vm.prank(supplier);
        orders.propose(core, 0, address(cash), DOC, uint64(block.timestamp + DUE));
    }

    function test_propose_revertsWhenAmountAboveUint96() public {
        uint128 tooMuch = uint128(type(uint96).max) + 1;
        vm.expectRevert(abi.encodeWithSelector(IOrderBook.InvalidAmount.selector, tooMuch));
        vm.prank(supplier);
        orders.propose(core, tooMuch, address(cash), DOC, uint64(block.timestamp + DUE));
    }

    function test_propose_acceptsAmountAtUint96Max() public {
        vm.prank(supplier);
        uint256 orderId = orders.propose(core, type(uint96).max, address(cash), DOC, uint64(block.timestamp + DUE));
        assertEq(orders.order(orderId).amount, type(uint96).max);
    }

    function test_propose_revertsWhenCashTokenZero() public {
        vm.expectRevert(LedgerAccess.ZeroAddress.selector);
        vm.prank(supplier);
        orders.propose(core, FACE, address(0), DOC, uint64(block.timestamp + DUE));
    }

    function test_propose_revertsWhenDueDateNotInFuture() public {
        uint64 due = uint64(block.timestamp);
        vm.expectRevert(abi.encodeWithSelector(IOrderBook.InvalidDueDate.selector, due));
        vm.prank(supplier);
        orders.propose(core, FACE, address(cash), DOC, due);
    }

    function test_propose_revertsWhenPaused() public {
        _pause();
        vm.expectRevert(LedgerAccess.EnforcedPause.selector);
        vm.prank(supplier);
        orders.propose(core, FACE, address(cash), DOC, uint64(block.timestamp + DUE));
    }

    // ------------------------------------------------------------------ confirm

    function test_confirm_setsConfirmed() public {
        uint256 orderId = _propose();
        vm.expectEmit(address(orders));
        emit IOrderBook.OrderConfirmed(orderId, coreId);
        vm.prank(core);
        orders.confirm(orderId);
        assertEq(uint8(_status(orderId)), uint8(IOrderBook.OrderStatus.Confirmed));
    }

    function test_confirm_revertsWhenUnknownOrder() public {
        vm.expectRevert(abi.encodeWithSelector(IOrderBook.UnknownOrder.selector, 7));
        vm.prank(core);
        orders.confirm(7);
    }

    function test_confirm_revertsWhenNotBuyer() public {
        uint256 orderId = _propose();
        vm.expectRevert(abi.encodeWithSelector(IOrderBook.NotOrderBuyer.selector, orderId, core2));
        vm.prank(core2);
        orders.confirm(orderId);
    }

    function test_confirm_revertsWhenCallerNotCoreEnterprise() public {
        uint256 orderId = _propose();
        vm.expectRevert(
            abi.encodeWithSelector(IMemberRegistry.MissingRole.selector, supplier, Roles.CORE_ENTERPRISE, Roles.SUPPLIER)
        );
        vm.prank(supplier);
        orders.confirm(orderId);
    }

    function test_confirm_revertsWhenBuyerSuspended() public {
        uint256 orderId = _propose();
        vm.prank(operator);
        registry.suspend(coreId);
        vm.expectRevert(
            abi.encodeWithSelector(IMemberRegistry.MemberNotActive.selector, core, IMemberRegistry.Status.Suspended)
        );
        vm.prank(core);
        orders.confirm(orderId);
    }

    function test_confirm_revertsWhenAlreadyConfirmed() public {
        uint256 orderId = _confirmedOrder(FACE);
        _expectState(orderId, IOrderBook.OrderStatus.Confirmed);
        vm.prank(core);
        orders.confirm(orderId);
    }

    function test_confirm_revertsWhenCancelled() public {
        uint256 orderId = _propose();
        vm.prank(supplier);
        orders.cancel(orderId);
        _expectState(orderId, IOrderBook.OrderStatus.Cancelled);
        vm.prank(core);
        orders.confirm(orderId);
    }

    function test_confirm_revertsWhenPaused() public {
        uint256 orderId = _propose();
        _pause();
        vm.expectRevert(LedgerAccess.EnforcedPause.selector);
        vm.prank(core);
        orders.confirm(orderId);
    }

    // ------------------------------------------------------------------ deliver

    function test_deliver_setsDelivered() public {
        uint256 orderId = _confirmedOrder(FACE);
        vm.expectEmit(address(orders));
        emit IOrderBook.OrderDelivered(orderId);
        vm.prank(supplier);
        orders.deliver(orderId);
        assertEq(uint8(_status(orderId)), uint8(IOrderBook.OrderStatus.Delivered));
    }

    function test_deliver_revertsWhenUnknownOrder() public {
        vm.expectRevert(abi.encodeWithSelector(IOrderBook.UnknownOrder.selector, 3));
        vm.prank(supplier);
        orders.deliver(3);
    }

    function test_deliver_revertsWhenNotOrderSupplier() public {
        uint256 orderId = _confirmedOrder(FACE);
        vm.expectRevert(abi.encodeWithSelector(IOrderBook.NotOrderSupplier.selector, orderId, supplier2));
        vm.prank(supplier2);
        orders.deliver(orderId);
    }

    function test_deliver_revertsWhenCallerNotSupplierRole() public {
        uint256 orderId = _confirmedOrder(FACE);
        vm.expectRevert(
            abi.encodeWithSelector(IMemberRegistry.MissingRole.selector, core, Roles.SUPPLIER, Roles.CORE_ENTERPRISE)
        );
        vm.prank(core);
        orders.deliver(orderId);
    }

    function test_deliver_revertsWhenNotConfirmed() public {
        uint256 orderId = _propose();
        _expectState(orderId, IOrderBook.OrderStatus.Proposed);
        vm.prank(supplier);
        orders.deliver(orderId);
    }

    function test_deliver_revertsWhenAlreadyDelivered() public {
        uint256 orderId = _delivered();
        _expectState(orderId, IOrderBook.OrderStatus.Delivered);
        vm.prank(supplier);
        orders.deliver(orderId);
    }

    function test_deliver_revertsWhenPaused() public {
        uint256 orderId = _confirmedOrder(FACE);
        _pause();
        vm.expectRevert(LedgerAccess.EnforcedPause.selector);
        vm.prank(supplier);
        orders.deliver(orderId);
    }

    // ------------------------------------------------------------------ accept

    function test_accept_issuesOneReceivableToHolder() public {
        uint256 orderId = _delivered();
        uint64 maturity = uint64(block.timestamp + TENOR);
        vm.expectEmit(address(orders));
        emit IOrderBook.OrderAccepted(orderId, 1, 1);
        vm.prank(core);
        (uint256 slotId, uint256 noteId) = orders.accept(orderId, FACE, maturity, INV);

        assertEq(slotId, 1);
        assertEq(noteId, 1);
        assertEq(notes.slotOfOrder(orderId), slotId);
        assertEq(notes.slotCount(), 1);
        assertEq(notes.firstNoteOf(slotId), noteId);
        IOrderBook.Order memory o = orders.order(orderId);
        assertEq(uint8(o.status), uint8(IOrderBook.OrderStatus.Invoiced));
        assertEq(o.slotId, slotId);
        IReceivableNotes.Receivable memory r = notes.receivable(slotId);
        assertEq(r.obligorId, coreId);
        assertEq(r.creditorId, supplierId);
        assertEq(r.faceValue, FACE);
        assertEq(r.maturity, maturity);
        assertEq(r.cashToken, address(cash));
        assertEq(r.invoiceHash, INV);
        assertEq(r.orderId, orderId);
        IReceivableNotes.Note memory n = notes.note(noteId);
        assertEq(n.holderId, supplierId);
        assertEq(n.lienholderId, 0);
        assertEq(n.value, FACE);
        assertEq(notes.ownerOf(noteId), supplier);
        assertEq(registry.member(coreId).outstanding, FACE);
        // the order token stays with its holder
        assertEq(orders.ownerOf(orderId), supplier);
    }

    function test_accept_faceValueBelowAmount() public {
        uint256 orderId = _delivered();
        (uint256 slotId, uint256 noteId) = _accept(orderId, FACE / 2);
        assertEq(notes.receivable(slotId).faceValue, FACE / 2);
        assertEq(notes.note(noteId).value, FACE / 2);
    }

    function test_accept_pledgedOrderIssuesNoteLockedToLienholder() public {
        uint256 orderId = _confirmedOrder(FACE);
        _pledge(orderId, bank);
        vm.prank(supplier);
        orders.deliver(orderId);
        vm.expectEmit(address(notes));
        emit IReceivableNotes.NoteLocked(1, bankId);
        (, uint256 noteId) = _accept(orderId, FACE);
        assertEq(notes.lienholderOf(noteId), bankId);
        assertEq(notes.note(noteId).holderId, supplierId);
        // the order lien stays until the lienholder releases it
        assertEq(orders.lienholderOf(orderId), bankId);
        // the locked note cannot be moved by its holder
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.NoteIsLocked.selector, noteId, bankId));
        vm.prank(supplier);
        notes.transferFrom(supplier, supplier2, noteId);
    }

    function test_accept_transferredOrderIssuesToNewHolder() public {
        uint256 orderId = _confirmedOrder(FACE);
        vm.prank(supplier);
        orders.transferFrom(supplier, supplier2, orderId);
        vm.prank(supplier);
        orders.deliver(orderId);
        (uint256 slotId, uint256 noteId) = _accept(orderId, FACE);
        assertEq(notes.ownerOf(noteId), supplier2);
        assertEq(notes.receivable(slotId).creditorId, supplier2Id);
    }

    function test_accept_revertsWhenFaceValueAboveOrderAmount() public {
        uint256 orderId = _delivered();
        vm.expectRevert(
            abi.encodeWithSelector(IOrderBook.FaceValueAboveOrderAmount.selector, orderId, FACE + 1, FACE)
        );
        vm.prank(core);
        orders.accept(orderId, FACE + 1, uint64(block.timestamp + TENOR), INV);
    }

    function test_accept_revertsWhenUnknownOrder() public {
        vm.expectRevert(abi.encodeWithSelector(IOrderBook.UnknownOrder.selector, 5));
        vm.prank(core);
        orders.accept(5, FACE, uint64(block.timestamp + TENOR), INV);
    }

    function test_accept_revertsWhenNotBuyer() public {
        uint256 orderId = _delivered();
        vm.expectRevert(abi.encodeWithSelector(IOrderBook.NotOrderBuyer.selector, orderId, core2));
        vm.prank(core2);
        orders.accept(orderId, FACE, uint64(block.timestamp + TENOR), INV);
    }

    function test_accept_revertsWhenCallerNotCoreEnterprise() public {
        uint256 orderId = _delivered();
        vm.expectRevert(
            abi.encodeWithSelector(IMemberRegistry.MissingRole.selector, supplier, Roles.CORE_ENTERPRISE, Roles.SUPPLIER)
        );
        vm.prank(supplier);
        orders.accept(orderId, FACE, uint64(block.timestamp + TENOR), INV);
    }

    function test_accept_revertsWhenNotDelivered() public {
        uint256 orderId = _confirmedOrder(FACE);
        _expectState(orderId, IOrderBook.OrderStatus.Confirmed);
        vm.prank(core);
        orders.accept(orderId, FACE, uint64(block.timestamp + TENOR), INV);
    }

    function test_accept_revertsWhenAlreadyInvoiced() public {
        uint256 orderId = _delivered();
        _accept(orderId, FACE);
        _expectState(orderId, IOrderBook.OrderStatus.Invoiced);
        vm.prank(core);
        orders.accept(orderId, FACE, uint64(block.timestamp + TENOR), keccak256("inv-2"));
        assertEq(notes.slotCount(), 1);
    }

    function test_accept_revertsWhenMaturityInvalid() public {
        uint256 orderId = _delivered();
        uint64 maturity = uint64(block.timestamp);
        vm.expectRevert(
            abi.encodeWithSelector(
                IReceivableNotes.InvalidMaturity.selector,
                maturity,
                uint64(block.timestamp + 1),
                uint64(block.timestamp + 365 days)
            )
        );
        vm.prank(core);
        orders.accept(orderId, FACE, maturity, INV);
    }

    function test_accept_revertsWhenLienholderSuspended() public {
        uint256 orderId = _confirmedOrder(FACE);
        _pledge(orderId, bank);
        vm.prank(supplier);
        orders.deliver(orderId);
        vm.prank(operator);
        registry.suspend(bankId);
        vm.expectRevert(
            abi.encodeWithSelector(IMemberRegistry.MemberNotActive.selector, bank, IMemberRegistry.Status.Suspended)
        );
        _accept(orderId, FACE);
    }

    function test_accept_revertsWhenPaused() public {
        uint256 orderId = _delivered();
        _pause();
        vm.expectRevert(LedgerAccess.EnforcedPause.selector);
        vm.prank(core);
        orders.accept(orderId, FACE, uint64(block.timestamp + TENOR), INV);
    }

    function testFuzz_accept_faceValueBoundedByOrderAmount(uint128 face) public {
        uint256 orderId = _delivered();
        face = uint128(bound(face, 1, uint256(type(uint96).max)));
        vm.prank(core);
        if (face > FACE) {
            vm.expectRevert(abi.encodeWithSelector(IOrderBook.FaceValueAboveOrderAmount.selector, orderId, face, FACE));
            orders.accept(orderId, face, uint64(block.timestamp + TENOR), INV);
            assertEq(notes.slotOfOrder(orderId), 0);
        } else {
            (uint256 slotId, uint256 noteId) = orders.accept(orderId, face, uint64(block.timestamp + TENOR), INV);
            assertEq(notes.receivable(slotId).faceValue, face);
            assertEq(notes.note(noteId).value, face);
            assertEq(notes.slotOfOrder(orderId), slotId);
        }
    }

    // ------------------------------------------------------------------ cancel

    function test_cancel_bySupplier() public {
        uint256 orderId = _propose();
        vm.expectEmit(address(orders));
        emit IOrderBook.OrderCancelled(orderId, supplierId);
        vm.prank(supplier);
        orders.cancel(orderId);
        assertEq(uint8(_status(orderId)), uint8(IOrderBook.OrderStatus.Cancelled));
    }

    function test_cancel_byBuyer() public {
        uint256 orderId = _propose();
        vm.expectEmit(address(orders));
        emit IOrderBook.OrderCancelled(orderId, coreId);
        vm.prank(core);
        orders.cancel(orderId);
        assertEq(uint8(_status(orderId)), uint8(IOrderBook.OrderStatus.Cancelled));
    }

    function test_cancel_revertsWhenUnknownOrder() public {
        vm.expectRevert(abi.encodeWithSelector(IOrderBook.UnknownOrder.selector, 1));
        vm.prank(supplier);
        orders.cancel(1);
    }

    function test_cancel_revertsWhenNotParty() public {
        uint256 orderId = _propose();
        vm.expectRevert(abi.encodeWithSelector(IOrderBook.NotOrderParty.selector, orderId, core2));
        vm.prank(core2);
        orders.cancel(orderId);
    }

    function test_cancel_revertsWhenOutsider() public {
        uint256 orderId = _propose();
        vm.expectRevert(abi.encodeWithSelector(IOrderBook.NotOrderParty.selector, orderId, outsider));
        vm.prank(outsider);
        orders.cancel(orderId);
    }

    function test_cancel_revertsWhenPartySuspended() public {
        uint256 orderId = _propose();
        vm.prank(operator);
        registry.suspend(supplierId);
        vm.expectRevert(
            abi.encodeWithSelector(IMemberRegistry.MemberNotActive.selector, supplier, IMemberRegistry.Status.Suspended)
        );
        vm.prank(supplier);
        orders.cancel(orderId);
    }

    function test_cancel_revertsWhenConfirmed() public {
        uint256 orderId = _confirmedOrder(FACE);
        _expectState(orderId, IOrderBook.OrderStatus.Confirmed);
        vm.prank(supplier);
        orders.cancel(orderId);
        _expectState(orderId, IOrderBook.OrderStatus.Confirmed);
        vm.prank(core);
        orders.cancel(orderId);
    }

    function test_cancel_revertsWhenAlreadyCancelled() public {
        uint256 orderId = _propose();
        vm.prank(core);
        orders.cancel(orderId);
        _expectState(orderId, IOrderBook.OrderStatus.Cancelled);
        vm.prank(supplier);
        orders.cancel(orderId);
    }

    function test_cancel_revertsWhenPaused() public {
        uint256 orderId = _propose();
        _pause();
        vm.expectRevert(LedgerAccess.EnforcedPause.selector);
        vm.prank(supplier);
        orders.cancel(orderId);
    }

    // ------------------------------------------------------------------ pledge

    function test_pledge_confirmedOrder() public {
        uint256 orderId = _confirmedOrder(FACE);
        vm.expectEmit(address(orders));
        emit IOrderBook.OrderPledged(orderId, bankId);
        _pledge(orderId, bank);
        assertEq(orders.lienholderOf(orderId), bankId);
        assertEq(orders.order(orderId).lienholderId, bankId);
    }

    function test_pledge_deliveredOrder() public {
        uint256 orderId = _delivered();
        _pledge(orderId, bank2);
        assertEq(orders.lienholderOf(orderId), bank2Id);
    }

    function test_pledge_revertsWhenUnknownOrder() public {
        vm.expectRevert(abi.encodeWithSelector(IOrderBook.UnknownOrder.selector, 2));
        _pledge(2, bank);
    }

    function test_pledge_revertsWhenNotHolder() public {
        uint256 orderId = _confirmedOrder(FACE);
        vm.expectRevert(abi.encodeWithSelector(IOrderBook.NotOrderHolder.selector, orderId, supplier2));
        vm.prank(supplier2);
        orders.pledge(orderId, bank);
    }

    function test_pledge_revertsWhenCallerOutsider() public {
        uint256 orderId = _confirmedOrder(FACE);
        vm.expectRevert(abi.encodeWithSelector(IMemberRegistry.NotAMember.selector, outsider));
        vm.prank(outsider);
        orders.pledge(orderId, bank);
    }

    function test_pledge_revertsWhenProposed() public {
        uint256 orderId = _propose();
        _expectState(orderId, IOrderBook.OrderStatus.Proposed);
        _pledge(orderId, bank);
    }

    function test_pledge_revertsWhenInvoiced() public {
        uint256 orderId = _delivered();
        _accept(orderId, FACE);
        _expectState(orderId, IOrderBook.OrderStatus.Invoiced);
        _pledge(orderId, bank);
    }

    function test_pledge_revertsWhenCancelled() public {
        uint256 orderId = _propose();
        vm.prank(core);
        orders.cancel(orderId);
        _expectState(orderId, IOrderBook.OrderStatus.Cancelled);
        _pledge(orderId, bank);
    }

    function test_pledge_revertsWhenAlreadyPledged() public {
        uint256 orderId = _confirmedOrder(FACE);
        _pledge(orderId, bank);
        vm.expectRevert(abi.encodeWithSelector(IOrderBook.OrderAlreadyPledged.selector, orderId, bankId));
        _pledge(orderId, bank2);
    }

    function test_pledge_revertsWhenFinancierLacksRole() public {
        uint256 orderId = _confirmedOrder(FACE);
        vm.expectRevert(
            abi.encodeWithSelector(IMemberRegistry.MissingRole.selector, supplier2, Roles.FINANCIER, Roles.SUPPLIER)
        );
        _pledge(orderId, supplier2);
    }

    function test_pledge_revertsWhenFinancierOutsider() public {
        uint256 orderId = _confirmedOrder(FACE);
        vm.expectRevert(abi.encodeWithSelector(IMemberRegistry.NotAMember.selector, outsider));
        _pledge(orderId, outsider);
    }

    function test_pledge_revertsWhenFinancierIsHolder() public {
        uint256 orderId = _confirmedOrder(FACE);
        vm.prank(supplier);
        orders.transferFrom(supplier, bank, orderId);
        vm.expectRevert(abi.encodeWithSelector(IOrderBook.SelfDealing.selector, bank));
        vm.prank(bank);
        orders.pledge(orderId, bank);
    }

    function test_pledge_revertsWhenFinancierIsBuyer() public {
        address coreBank = makeAddr("coreBank");
        vm.prank(operator);
        registry.admit(coreBank, Roles.CORE_ENTERPRISE | Roles.FINANCIER, keccak256("kyc-cb"), 10, CREDIT);
        vm.prank(supplier);
        uint256 orderId = orders.propose(coreBank, FACE, address(cash), DOC, uint64(block.timestamp + DUE));
        vm.prank(coreBank);
        orders.confirm(orderId);
        vm.expectRevert(abi.encodeWithSelector(IOrderBook.SelfDealing.selector, coreBank));
        _pledge(orderId, coreBank);
    }

    function test_pledge_revertsWhenPaused() public {
        uint256 orderId = _confirmedOrder(FACE);
        _pause();
        vm.expectRevert(LedgerAccess.EnforcedPause.selector);
        _pledge(orderId, bank);
    }

    // ------------------------------------------------------------------ release

    function test_release_byLienholder() public {
        uint256 orderId = _confirmedOrder(FACE);
        _pledge(orderId, bank);
        vm.expectEmit(address(orders));
        emit IOrderBook.OrderReleased(orderId, bankId);
        vm.prank(bank);
        orders.release(orderId);
        assertEq(orders.lienholderOf(orderId), 0);
        // released order can be pledged again
        _pledge(orderId, bank2);
        assertEq(orders.lienholderOf(orderId), bank2Id);
    }

    function test_release_revertsWhenUnknownOrder() public {
        vm.expectRevert(abi.encodeWithSelector(IOrderBook.UnknownOrder.selector, 4));
        vm.prank(bank);
        orders.release(4);
    }

    function test_release_revertsWhenNotPledged() public {
        uint256 orderId = _confirmedOrder(FACE);
        vm.expectRevert(abi.encodeWithSelector(IOrderBook.OrderNotPledged.selector, orderId));
        vm.prank(bank);
        orders.release(orderId);
    }

    function test_release_revertsWhenNotLienholder() public {
        uint256 orderId = _confirmedOrder(FACE);
        _pledge(orderId, bank);
        vm.expectRevert(abi.encodeWithSelector(IOrderBook.NotLienholder.selector, orderId, bank2));
        vm.prank(bank2);
        orders.release(orderId);
        vm.expectRevert(abi.encodeWithSelector(IOrderBook.NotLienholder.selector, orderId, supplier));
        vm.prank(supplier);
        orders.release(orderId);
    }

    function test_release_revertsWhenPaused() public {
        uint256 orderId = _confirmedOrder(FACE);
        _pledge(orderId, bank);
        _pause();
        vm.expectRevert(LedgerAccess.EnforcedPause.selector);
        vm.prank(bank);
        orders.release(orderId);
    }

    // ------------------------------------------------------------------ releaseByLedger

    function test_releaseByLedger_byLedgerContract() public {
        uint256 orderId = _confirmedOrder(FACE);
        _pledge(orderId, bank);
        vm.expectEmit(address(orders));
        emit IOrderBook.OrderReleased(orderId, bankId);
        vm.prank(address(financing));
        orders.releaseByLedger(orderId);
        assertEq(orders.lienholderOf(orderId), 0);
    }

    function test_releaseByLedger_revertsWhenNotLedger() public {
        uint256 orderId = _confirmedOrder(FACE);
        _pledge(orderId, bank);
        vm.expectRevert(abi.encodeWithSelector(LedgerAccess.NotLedgerContract.selector, bank));
        vm.prank(bank);
        orders.releaseByLedger(orderId);
        vm.expectRevert(abi.encodeWithSelector(LedgerAccess.NotLedgerContract.selector, operator));
        vm.prank(operator);
        orders.releaseByLedger(orderId);
        assertEq(orders.lienholderOf(orderId), bankId);
    }

    function test_releaseByLedger_revertsWhenLedgerDisabled() public {
        uint256 orderId = _confirmedOrder(FACE);
        _pledge(orderId, bank);
        vm.prank(operator);
        registry.setLedgerContract(address(financing), false);
        vm.expectRevert(abi.encodeWithSelector(LedgerAccess.NotLedgerContract.selector, address(financing)));
        vm.prank(address(financing));
        orders.releaseByLedger(orderId);
    }

    function test_releaseByLedger_revertsWhenNotPledged() public {
        uint256 orderId = _confirmedOrder(FACE);
        vm.expectRevert(abi.encodeWithSelector(IOrderBook.OrderNotPledged.selector, orderId));
        vm.prank(address(financing));
        orders.releaseByLedger(orderId);
    }

    function test_releaseByLedger_revertsWhenUnknownOrder() public {
        vm.expectRevert(abi.encodeWithSelector(IOrderBook.UnknownOrder.selector, 8));
        vm.prank(address(financing));
        orders.releaseByLedger(8);
    }

    // ------------------------------------------------------------------ ERC-721

    function test_transferFrom_toAnotherMember() public {
        uint256 orderId = _confirmedOrder(FACE);
        vm.expectEmit(address(orders));
        emit IERC721.Transfer(supplier, supplier2, orderId);
        vm.prank(supplier);
        orders.transferFrom(supplier, supplier2, orderId);
        assertEq(orders.ownerOf(orderId), supplier2);
        assertEq(orders.holderOf(orderId), supplier2Id);
        assertEq(orders.balanceOf(supplier), 0);
        assertEq(orders.balanceOf(supplier2), 1);
        // the new holder can pledge, the old one cannot
        vm.expectRevert(abi.encodeWithSelector(IOrderBook.NotOrderHolder.selector, orderId, supplier));
        _pledge(orderId, bank);
        vm.prank(supplier2);
        orders.pledge(orderId, bank);
        assertEq(orders.lienholderOf(orderId), bankId);
    }

    function test_transferFrom_toFinancier() public {
        uint256 orderId = _propose();
        vm.prank(supplier);
        orders.transferFrom(supplier, bank, orderId);
        assertEq(orders.ownerOf(orderId), bank);
        assertEq(orders.balanceOf(bank), 1);
    }

    function test_transferFrom_byApprovedOperator() public {
        uint256 orderId = _confirmedOrder(FACE);
        vm.expectEmit(address(orders));
        emit IERC721.Approval(supplier, supplier2, orderId);
        vm.prank(supplier);
        orders.approve(supplier2, orderId);
        assertEq(orders.getApproved(orderId), supplier2);
        vm.prank(supplier2);
        orders.transferFrom(supplier, bank, orderId);
        assertEq(orders.ownerOf(orderId), bank);
        assertEq(orders.getApproved(orderId), address(0));
    }

    function test_transferFrom_byOperatorForAll() public {
        uint256 orderId = _confirmedOrder(FACE);
        vm.expectEmit(address(orders));
        emit IERC721.ApprovalForAll(supplier, outsider, true);
        vm.prank(supplier);
        orders.setApprovalForAll(outsider, true);
        assertTrue(orders.isApprovedForAll(supplier, outsider));
        vm.prank(outsider);
        orders.transferFrom(supplier, supplier2, orderId);
        assertEq(orders.ownerOf(orderId), supplier2);
    }

    function test_safeTransferFrom_toMemberAccount() public {
        uint256 orderId = _confirmedOrder(FACE);
        vm.prank(supplier);
        orders.safeTransferFrom(supplier, supplier2, orderId);
        assertEq(orders.ownerOf(orderId), supplier2);
        vm.prank(supplier2);
        orders.safeTransferFrom(supplier2, supplier, orderId, "data");
        assertEq(orders.ownerOf(orderId), supplier);
    }

    function test_transferFrom_revertsWhenToOutsider() public {
        uint256 orderId = _confirmedOrder(FACE);
        vm.expectRevert(abi.encodeWithSelector(IMemberRegistry.NotAMember.selector, outsider));
        vm.prank(supplier);
        orders.transferFrom(supplier, outsider, orderId);
    }

    function test_transferFrom_revertsWhenToAuditor() public {
        uint256 orderId = _confirmedOrder(FACE);
        vm.expectRevert(
            abi.encodeWithSelector(IMemberRegistry.MissingRole.selector, auditor, Roles.HOLDER, Roles.AUDITOR)
        );
        vm.prank(supplier);
        orders.transferFrom(supplier, auditor, orderId);
    }

    function test_transferFrom_revertsWhenToSuspended() public {
        uint256 orderId = _confirmedOrder(FACE);
        vm.expectRevert(
            abi.encodeWithSelector(IMemberRegistry.MemberNotActive.selector, suspended, IMemberRegistry.Status.Suspended)
        );
        vm.prank(supplier);
        orders.transferFrom(supplier, suspended, orderId);
    }

    function test_transferFrom_revertsWhenPledged() public {
        uint256 orderId = _confirmedOrder(FACE);
        _pledge(orderId, bank);
        vm.expectRevert(abi.encodeWithSelector(IOrderBook.OrderAlreadyPledged.selector, orderId, bankId));
        vm.prank(supplier);
        orders.transferFrom(supplier, supplier2, orderId);
    }

    function test_transferFrom_revertsWhenInvoiced() public {
        uint256 orderId = _delivered();
        _accept(orderId, FACE);
        vm.expectRevert(
            abi.encodeWithSelector(OrderBook.OrderNotTransferable.selector, orderId, IOrderBook.OrderStatus.Invoiced)
        );
        vm.prank(supplier);
        orders.transferFrom(supplier, supplier2, orderId);
    }

    function test_transferFrom_revertsWhenCancelled() public {
        uint256 orderId = _propose();
        vm.prank(supplier);
        orders.cancel(orderId);
        vm.expectRevert(
            abi.encodeWithSelector(OrderBook.OrderNotTransferable.selector, orderId, IOrderBook.OrderStatus.Cancelled)
        );
        vm.prank(supplier);
        orders.transferFrom(supplier, supplier2, orderId);
    }

    function test_transferFrom_revertsWhenFromNotHolder() public {
        uint256 orderId = _confirmedOrder(FACE);
        vm.expectRevert(abi.encodeWithSelector(IOrderBook.NotOrderHolder.selector, orderId, supplier2));
        vm.prank(supplier2);
        orders.transferFrom(supplier2, bank, orderId);
    }

    function test_transferFrom_revertsWhenCallerNotApproved() public {
        uint256 orderId = _confirmedOrder(FACE);
        vm.expectRevert(abi.encodeWithSelector(IMemberHoldings.NotApproved.selector, orderId, supplier2));
        vm.prank(supplier2);
        orders.transferFrom(supplier, supplier2, orderId);
    }

    function test_transferFrom_revertsWhenToSelf() public {
        uint256 orderId = _confirmedOrder(FACE);
        vm.expectRevert(abi.encodeWithSelector(OrderBook.InvalidRecipient.selector, supplier));
        vm.prank(supplier);
        orders.transferFrom(supplier, supplier, orderId);
    }

    function test_transferFrom_revertsWhenUnknownOrder() public {
        vm.expectRevert(abi.encodeWithSelector(IOrderBook.UnknownOrder.selector, 6));
        vm.prank(supplier);
        orders.transferFrom(supplier, supplier2, 6);
    }

    function test_transferFrom_revertsWhenPaused() public {
        uint256 orderId = _confirmedOrder(FACE);
        _pause();
        vm.expectRevert(LedgerAccess.EnforcedPause.selector);
        vm.prank(supplier);
        orders.transferFrom(supplier, supplier2, orderId);
    }

    function test_approve_revertsWhenToHolder() public {
        uint256 orderId = _confirmedOrder(FACE);
        vm.expectRevert(abi.encodeWithSelector(IMemberHoldings.ApprovalToHolder.selector, supplier));
        vm.prank(supplier);
        orders.approve(supplier, orderId);
    }

    function test_approve_revertsWhenCallerNotHolder() public {
        uint256 orderId = _confirmedOrder(FACE);
        vm.expectRevert(abi.encodeWithSelector(IMemberHoldings.NotApproved.selector, orderId, supplier2));
        vm.prank(supplier2);
        orders.approve(supplier2, orderId);
    }

    function test_setApprovalForAll_revertsWhenOutsider() public {
        vm.expectRevert(abi.encodeWithSelector(IMemberRegistry.NotAMember.selector, outsider));
        vm.prank(outsider);
        orders.setApprovalForAll(supplier, true);
    }

    function test_setApprovalForAll_revertsWhenSelf() public {
        vm.expectRevert(abi.encodeWithSelector(IMemberHoldings.ApprovalToHolder.selector, supplier));
        vm.prank(supplier);
        orders.setApprovalForAll(supplier, true);
    }

    function test_ownerOf_followsRotatedAccount() public {
        uint256 orderId = _confirmedOrder(FACE);
        address fresh = makeAddr("supplier-new-key");
        _rotate(supplierId, fresh, _ids(), _ids(orderId));
        assertEq(orders.ownerOf(orderId), fresh);
        assertEq(orders.balanceOf(fresh), 1);
        assertEq(orders.balanceOf(supplier), 0);
        vm.prank(fresh);
        orders.pledge(orderId, bank);
        assertEq(orders.lienholderOf(orderId), bankId);
    }

    function test_ownerOf_revertsWhenUnknownOrder() public {
        vm.expectRevert(abi.encodeWithSelector(IOrderBook.UnknownOrder.selector, 1));
        orders.ownerOf(1);
        vm.expectRevert(abi.encodeWithSelector(IOrderBook.UnknownOrder.selector, 1));
        orders.order(1);
        vm.expectRevert(abi.encodeWithSelector(IOrderBook.UnknownOrder.selector, 1));
        orders.lienholderOf(1);
        vm.expectRevert(abi.encodeWithSelector(IOrderBook.UnknownOrder.selector, 1));
        orders.holderOf(1);
        vm.expectRevert(abi.encodeWithSelector(IOrderBook.UnknownOrder.selector, 1));
        orders.getApproved(1);
    }

    function test_balanceOf_revertsWhenZeroAddress() public {
        vm.expectRevert(LedgerAccess.ZeroAddress.selector);
        orders.balanceOf(address(0));
        assertEq(orders.balanceOf(outsider), 0);
    }

    function test_metadata_andInterfaces() public view {
        assertEq(orders.name(), "SCF Confirmed Orders");
        assertEq(orders.symbol(), "SCFO");
        assertTrue(orders.supportsInterface(type(IERC721).interfaceId));
        assertTrue(orders.supportsInterface(type(IERC165).interfaceId));
        assertFalse(orders.supportsInterface(0xffffffff));
    }

    // ------------------------------------------------------------------ pause

    function test_pause_onlyOperator() public {
        vm.expectRevert(abi.encodeWithSelector(LedgerAccess.NotOperator.selector, supplier));
        vm.prank(supplier);
        orders.pause();
        _pause();
        assertTrue(orders.paused());
        vm.prank(operator);
        orders.unpause();
        assertFalse(orders.paused());
        _propose();
    }

    // ------------------------------------------------------------------ regressions

    /// @dev The buyer cannot receive the order token, so it can never become the creditor of its own receivable.
    function test_transferFrom_revertsToBuyer() public {
        uint256 orderId = _confirmedOrder(FACE);
        vm.expectRevert(abi.encodeWithSelector(IOrderBook.SelfDealing.selector, core));
        vm.prank(supplier);
        orders.transferFrom(supplier, core, orderId);
        assertEq(orders.ownerOf(orderId), supplier);
    }

    function test_accept_revertsWhenCancelled() public {
        uint256 orderId = _propose();
        vm.prank(core);
        orders.cancel(orderId);
        _expectState(orderId, IOrderBook.OrderStatus.Cancelled);
        vm.prank(core);
        orders.accept(orderId, FACE, uint64(block.timestamp + TENOR), INV);
    }
}
