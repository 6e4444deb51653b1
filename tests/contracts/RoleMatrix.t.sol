// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {Base} from "./Base.t.sol";
import {ISettlement} from "../../contracts/interfaces/ISettlement.sol";
import {IFinancing} from "../../contracts/interfaces/IFinancing.sol";
import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {IMemberRegistry} from "../../contracts/interfaces/IMemberRegistry.sol";
import {IReceivableNotes} from "../../contracts/interfaces/IReceivableNotes.sol";
import {IMemberHoldings} from "../../contracts/interfaces/IMemberHoldings.sol";
import {IOrderBook} from "../../contracts/interfaces/IOrderBook.sol";
import {ICashToken} from "../../contracts/interfaces/ICashToken.sol";
import {OrderBook} from "../../contracts/orders/OrderBook.sol";
import {Financing} from "../../contracts/financing/Financing.sol";
import {Settlement} from "../../contracts/settlement/Settlement.sol";
import {Roles} from "../../contracts/libraries/Roles.sol";
import {LedgerAccess} from "../../contracts/libraries/LedgerAccess.sol";

/// @notice Role x function matrix. For every state-changing user-facing function the test sets up a state in which
///         the permitted caller(s) succeed, then calls the function from each actor (operator, core, supplier, bank,
///         auditor, outsider, suspended supplier) on a fresh copy of that state. Exactly the permitted calls must
///         succeed; every other call must revert with a permission error (membership, role, status, ownership or
///         operator/ledger check), never for an unrelated reason.
contract RoleMatrixTest is Base {
    // actor bits
    uint8 internal constant OP = 1 << 0;
    uint8 internal constant CORE = 1 << 1;
    uint8 internal constant SUP = 1 << 2;
    uint8 internal constant BANK = 1 << 3;
    uint8 internal constant AUD = 1 << 4;
    uint8 internal constant OUT = 1 << 5;
    uint8 internal constant SUSP = 1 << 6;
    uint8 internal constant NONE = 0;
    uint8 internal constant ANYONE = 127;
    uint8 internal constant HOLDERS = CORE | SUP | BANK;

    address internal newcomer = makeAddr("newcomer");
    bytes32 internal constant KYC = keccak256("kyc-newcomer");

    address[7] internal actors;
    string[7] internal names;
    uint256 internal cases;

    function setUp() public override {
        super.setUp();
        actors = [operator, core, supplier, bank, auditor, outsider, suspended];
        names = ["operator", "core", "supplier", "bank", "auditor", "outsider", "suspended"];
        // Every actor holds cash, so cash calls can only fail for permission reasons.
        deal(address(cash), operator, 1_000_00);
        deal(address(cash), supplier, 1_000_00);
        deal(address(cash), auditor, 1_000_00);
        deal(address(cash), outsider, 1_000_00);
        deal(address(cash), suspended, 1_000_00);
    }

    // ================================================================== machinery

    function _check(string memory label, address target, bytes memory data, uint8 allowed) internal {
        for (uint256 i; i < actors.length; ++i) {
            uint256 snap = vm.snapshotState();
            vm.prank(actors[i]);
            (bool ok, bytes memory ret) = target.call(data);
            bool expected = allowed & (1 << i) != 0;
            string memory what = string.concat(label, " by ", names[i]);
            if (expected) {
                assertTrue(ok, string.concat(what, " should succeed, reverted with ", vm.toString(ret)));
            } else {
                assertFalse(ok, string.concat(what, " should revert"));
                assertTrue(
                    _isPermissionError(ret), string.concat(what, " reverted for a non-permission reason: ", vm.toString(ret))
                );
            }
            vm.revertToState(snap);
            ++cases;
        }
    }

    /// @dev A ledger-only function: no actor may call it, and the same call from a ledger contract succeeds
    ///      (so the actors' failures are due to permissions, not to the state).
    function _checkLedgerOnly(string memory label, address target, bytes memory data, address ledgerContract)
        internal
    {
        _check(label, target, data, NONE);
        uint256 snap = vm.snapshotState();
        vm.prank(ledgerContract);
        (bool ok, bytes memory ret) = target.call(data);
        assertTrue(ok, string.concat(label, " by ledger contract should succeed, reverted with ", vm.toString(ret)));
        vm.revertToState(snap);
    }

    function _isPermissionError(bytes memory ret) internal pure returns (bool) {
        if (ret.length < 4) return false;
        bytes4 s = bytes4(ret);
        return s == IMemberRegistry.NotOperator.selector || s == IMemberRegistry.NotLedgerContract.selector
            || s == IMemberRegistry.NotAMember.selector || s == IMemberRegistry.MemberNotActive.selector
            || s == IMemberRegistry.MissingRole.selector || s == IAccessControl.AccessControlUnauthorizedAccount.selector
            || s == IReceivableNotes.NotNoteHolder.selector || s == IMemberHoldings.NotApproved.selector
            || s == IReceivableNotes.NotLienholder.selector || s == IOrderBook.NotOrderSupplier.selector
            || s == IOrderBook.NotOrderBuyer.selector || s == IOrderBook.NotOrderHolder.selector
            || s == IOrderBook.NotOrderParty.selector || s == IOrderBook.NotLienholder.selector
            || s == IMemberHoldings.NotApproved.selector || s == IFinancing.NotOfferFinancier.selector
            || s == IFinancing.NotNoteHolder.selector || s == IFinancing.NotPurchaseFinancier.selector
            || s == IFinancing.NotSeller.selector || s == IFinancing.NotLoanFinancier.selector
            || s == IFinancing.NotBorrower.selector || s == IFinancing.OrderNotPledgedTo.selector
            || s == ISettlement.NotObligor.selector || s == ISettlement.NotNoteHolder.selector;
    }

    function _pausedCheck(string memory label, address target) internal {
        _check(string.concat(label, ".pause"), target, abi.encodeWithSignature("pause()"), OP);
        vm.prank(operator);
        (bool ok,) = target.call(abi.encodeWithSignature("pause()"));
        assertTrue(ok);
        _check(string.concat(label, ".unpause"), target, abi.encodeWithSignature("unpause()"), OP);
    }

    function _maturity() internal view returns (uint64) {
        return uint64(block.timestamp + TENOR);
    }

    function _proposed() internal returns (uint256 orderId) {
        vm.prank(supplier);
        orderId = orders.propose(core, FACE, address(cash), keccak256("po-1"), uint64(block.timestamp + 60 days));
    }

    function _pledged() internal returns (uint256 orderId) {
        orderId = _confirmedOrder(FACE);
        vm.prank(supplier);
        orders.pledge(orderId, bank);
    }

    function _loan() internal returns (uint256 orderId, uint256 loanId) {
        orderId = _pledged();
        vm.prank(bank);
        loanId = financing.lend(orderId, 50_000_00, 500, uint64(block.timestamp + 30 days));
    }

    // ================================================================== MemberRegistry

    function test_matrix_registry_operatorActions() public {
        address r = address(registry);
        _check("admit", r, abi.encodeCall(registry.admit, (newcomer, Roles.SUPPLIER, KYC, 0, 0)), OP);
        _check("suspend", r, abi.encodeCall(registry.suspend, (supplierId)), OP);
        _check("reinstate", r, abi.encodeCall(registry.reinstate, (suspendedId)), OP);
        _check("setRoles", r, abi.encodeCall(registry.setRoles, (supplierId, Roles.SUPPLIER | Roles.FINANCIER)), OP);
        _check("setKycHash", r, abi.encodeCall(registry.setKycHash, (supplierId, KYC)), OP);
        _check("setGroup", r, abi.encodeCall(registry.setGroup, (supplierId, 9)), OP);
        _check("setCreditLimit", r, abi.encodeCall(registry.setCreditLimit, (coreId, 5)), OP);
        _check("rotateAccount", r, abi.encodeCall(registry.rotateAccount, (supplierId, newcomer)), OP);
        _check("setBlockIssuanceOnDefault", r, abi.encodeCall(registry.setBlockIssuanceOnDefault, (false)), OP);
        _check("setLedgerContract", r, abi.encodeCall(registry.setLedgerContract, (newcomer, true)), OP);
        bytes32 opRole = registry.OPERATOR_ROLE();
        _check("grantRole", r, abi.encodeCall(registry.grantRole, (opRole, newcomer)), OP);
    }

    function test_matrix_registry_clearDefaultBlock() public {
        vm.prank(address(settlement));
        registry.recordDefault(coreId, 1);
        _check("clearDefaultBlock", address(registry), abi.encodeCall(registry.clearDefaultBlock, (coreId)), OP);
    }

    function test_matrix_registry_ledgerHooks() public {
        address r = address(registry);
        _checkLedgerOnly("increaseOutstanding", r, abi.encodeCall(registry.increaseOutstanding, (coreId, 1)), address(notes));
        _checkLedgerOnly("recordDefault", r, abi.encodeCall(registry.recordDefault, (coreId, 1)), address(settlement));
        _issue();
        _checkLedgerOnly(
            "decreaseOutstanding", r, abi.encodeCall(registry.decreaseOutstanding, (coreId, FACE)), address(settlement)
        );
    }

    // ================================================================== CashToken

    function test_matrix_cash_mint() public {
        _check("cash.mint", address(cash), abi.encodeCall(cash.mint, (supplier, 100, "ref")), BANK);
    }

    function test_matrix_cash_transfer() public {
        _check("cash.transfer", address(cash), abi.encodeCall(cash.transfer, (supplier2, 100)), HOLDERS);
    }

    function test_matrix_cash_transferFrom() public {
        // core approved every actor; only active holders may move the cash (core -> supplier2)
        for (uint256 i; i < actors.length; ++i) {
            vm.prank(core);
            cash.approve(actors[i], 100);
        }
        _check("cash.transferFrom", address(cash), abi.encodeCall(cash.transferFrom, (core, supplier2, 100)), ANYONE);
    }

    function test_matrix_cash_burnOwn() public {
        _check("cash.burn", address(cash), abi.encodeCall(cash.burn, (bank, 100, "ref")), BANK);
    }

    function test_matrix_cash_ledgerMoves() public {
        _checkLedgerOnly(
            "cash.ledgerTransfer", address(cash), abi.encodeCall(cash.ledgerTransfer, (core, supplier, 1)), address(financing)
        );
        address[] memory to = new address[](1);
        to[0] = supplier;
        uint256[] memory amounts = new uint256[](1);
        amounts[0] = 1;
        _checkLedgerOnly(
            "cash.ledgerPayout", address(cash), abi.encodeCall(cash.ledgerPayout, (core, to, amounts)), address(settlement)
        );
    }

    function test_matrix_cash_recoverRotatedBalance() public {
        vm.prank(operator);
        registry.rotateAccount(supplierId, newcomer); // supplier's 1,000.00 stays at the old address
        _check("cash.recoverRotatedBalance", address(cash), abi.encodeCall(cash.recoverRotatedBalance, (supplier)), OP);
    }

    function test_matrix_cash_pause() public {
        _pausedCheck("cash", address(cash));
    }

    // ================================================================== ReceivableNotes

    function test_matrix_notes_issue() public {
        _check(
            "notes.issue",
            address(notes),
            abi.encodeCall(notes.issue, (supplier, FACE, address(cash), _maturity(), keccak256("inv-m"))),
            CORE
        );
    }

    function test_matrix_notes_split() public {
        (, uint256 noteId) = _issue();
        _check(
            "notes.split",
            address(notes),
            abi.encodeWithSignature("transferFrom(uint256,address,uint256)", noteId, supplier2, 10_000_00),
            SUP
        );
    }

    function test_matrix_notes_merge() public {
        (, uint256 noteId) = _issue();
        uint256 child = _split(supplier, noteId, supplier, 10_000_00); // supplier now holds two notes of the slot
        assertEq(notes.ownerOf(child), supplier);
        _check(
            "notes.merge",
            address(notes),
            abi.encodeWithSignature("transferFrom(uint256,uint256,uint256)", child, noteId, 10_000_00),
            SUP
        );
    }

    function test_matrix_notes_valueMoveToOtherHolder() public {
        (, uint256 noteId) = _issue();
        uint256 other = _split(supplier, noteId, supplier2, 10_000_00);
        _check(
            "notes.valueMove",
            address(notes),
            abi.encodeWithSignature("transferFrom(uint256,uint256,uint256)", noteId, other, 5_000_00),
            SUP
        );
    }

    function test_matrix_notes_wholeTransfer() public {
        (, uint256 noteId) = _issue();
        _check(
            "notes.transferFrom(whole)",
            address(notes),
            abi.encodeWithSignature("transferFrom(address,address,uint256)", supplier, supplier2, noteId),
            SUP
        );
    }

    function test_matrix_notes_approvals() public {
        (, uint256 noteId) = _issue();
        _check(
            "notes.approve(value)",
            address(notes),
            abi.encodeWithSignature("approve(uint256,address,uint256)", noteId, supplier2, 1_000_00),
            SUP
        );
        _check(
            "notes.approve(token)",
            address(notes),
            abi.encodeWithSignature("approve(address,uint256)", supplier2, noteId),
            SUP
        );
        _check("notes.setApprovalForAll", address(notes), abi.encodeCall(notes.setApprovalForAll, (supplier2, true)), HOLDERS);
    }

    function test_matrix_notes_lockRelease() public {
        (, uint256 noteId) = _issue();
        _check("notes.lock", address(notes), abi.encodeCall(notes.lock, (noteId, bank2)), SUP);
        vm.prank(supplier);
        notes.lock(noteId, bank);
        _check("notes.release", address(notes), abi.encodeCall(notes.release, (noteId)), BANK);
    }

    function test_matrix_notes_splitBySuspendedHolder() public {
        (, uint256 noteId) = _issue();
        vm.prank(operator);
        registry.suspend(supplierId);
        _check(
            "notes.split(suspended holder)",
            address(notes),
            abi.encodeWithSignature("transferFrom(uint256,address,uint256)", noteId, supplier2, 10_000_00),
            NONE
        );
    }

    function test_matrix_notes_splitByHolderTurnedAuditor() public {
        (, uint256 noteId) = _issue();
        vm.prank(operator);
        registry.setRoles(supplierId, Roles.AUDITOR);
        _check(
            "notes.split(holder lost role)",
            address(notes),
            abi.encodeWithSignature("transferFrom(uint256,address,uint256)", noteId, supplier2, 10_000_00),
            NONE
        );
    }

    function test_matrix_notes_splitByApprovedOperator() public {
        (, uint256 noteId) = _issue();
        // the holder approves every actor for all its notes: approval, not membership, authorises the caller;
        // the recipient must still be an active holder
        for (uint256 i; i < actors.length; ++i) {
            if (actors[i] == supplier) continue;
            vm.prank(supplier);
            notes.setApprovalForAll(actors[i], true);
        }
        _check(
            "notes.split(approved operator)",
            address(notes),
            abi.encodeWithSignature("transferFrom(uint256,address,uint256)", noteId, supplier2, 10_000_00),
            ANYONE
        );
        vm.expectRevert(abi.encodeWithSelector(IMemberRegistry.NotAMember.selector, outsider));
        vm.prank(outsider);
        notes.transferFrom(noteId, outsider, 10_000_00);
    }

    function test_matrix_notes_setPolicy() public {
        _check("notes.setPolicy", address(notes), abi.encodeCall(notes.setPolicy, (200, 100, 200 days)), OP);
    }

    function test_matrix_notes_ledgerHooks() public {
        (uint256 slotId, uint256 noteId) = _issue();
        address n = address(notes);
        _checkLedgerOnly(
            "notes.ledgerSplit", n, abi.encodeCall(notes.ledgerSplit, (noteId, bankId, 10_000_00, 0, false)), address(financing)
        );
        _checkLedgerOnly(
            "notes.ledgerTransfer", n, abi.encodeCall(notes.ledgerTransfer, (noteId, bankId, 0, false)), address(financing)
        );
        _checkLedgerOnly("notes.ledgerLock", n, abi.encodeCall(notes.ledgerLock, (noteId, bankId)), address(financing));
        _checkLedgerOnly(
            "notes.setSlotStatus",
            n,
            abi.encodeCall(notes.setSlotStatus, (slotId, IReceivableNotes.SlotStatus.Settled)),
            address(settlement)
        );
        _checkLedgerOnly(
            "notes.burnForSettlement", n, abi.encodeCall(notes.burnForSettlement, (noteId, slotId)), address(settlement)
        );
        _checkLedgerOnly(
            "notes.issueForOrder",
            n,
            abi.encodeCall(
                notes.issueForOrder, (77, coreId, supplierId, 0, FACE, address(cash), _maturity(), keccak256("inv-o"))
            ),
            address(orders)
        );
        vm.prank(supplier);
        notes.lock(noteId, bank);
        _checkLedgerOnly("notes.ledgerRelease", n, abi.encodeCall(notes.ledgerRelease, (noteId)), address(financing));
    }

    function test_matrix_notes_pause() public {
        _pausedCheck("notes", address(notes));
    }

    // ================================================================== OrderBook

    function test_matrix_orders_propose() public {
        _check(
            "orders.propose",
            address(orders),
            abi.encodeCall(orders.propose, (core, FACE, address(cash), keccak256("po-m"), uint64(block.timestamp + 1 days))),
            SUP
        );
    }

    function test_matrix_orders_confirm() public {
        uint256 orderId = _proposed();
        _check("orders.confirm", address(orders), abi.encodeCall(orders.confirm, (orderId)), CORE);
    }

    function test_matrix_orders_cancel() public {
        uint256 orderId = _proposed();
        _check("orders.cancel", address(orders), abi.encodeCall(orders.cancel, (orderId)), CORE | SUP);
    }

    function test_matrix_orders_deliver() public {
        uint256 orderId = _confirmedOrder(FACE);
        _check("orders.deliver", address(orders), abi.encodeCall(orders.deliver, (orderId)), SUP);
    }

    function test_matrix_orders_accept() public {
        uint256 orderId = _confirmedOrder(FACE);
        vm.prank(supplier);
        orders.deliver(orderId);
        _check(
            "orders.accept",
            address(orders),
            abi.encodeCall(orders.accept, (orderId, FACE, _maturity(), keccak256("inv-a"))),
            CORE
        );
    }

    function test_matrix_orders_pledgeRelease() public {
        uint256 orderId = _confirmedOrder(FACE);
        _check("orders.pledge", address(orders), abi.encodeCall(orders.pledge, (orderId, bank)), SUP);
        vm.prank(supplier);
        orders.pledge(orderId, bank);
        _check("orders.release", address(orders), abi.encodeCall(orders.release, (orderId)), BANK);
        _checkLedgerOnly(
            "orders.releaseByLedger", address(orders), abi.encodeCall(orders.releaseByLedger, (orderId)), address(financing)
        );
    }

    function test_matrix_orders_transferAndApprovals() public {
        uint256 orderId = _confirmedOrder(FACE);
        _check(
            "orders.transferFrom",
            address(orders),
            abi.encodeWithSignature("transferFrom(address,address,uint256)", supplier, supplier2, orderId),
            SUP
        );
        _check("orders.approve", address(orders), abi.encodeCall(orders.approve, (supplier2, orderId)), SUP);
        _check(
            "orders.setApprovalForAll", address(orders), abi.encodeCall(orders.setApprovalForAll, (supplier2, true)), HOLDERS
        );
    }

    function test_matrix_orders_pause() public {
        _pausedCheck("orders", address(orders));
    }

    // ================================================================== Financing

    function test_matrix_financing_makeOffer() public {
        (, uint256 noteId) = _issue();
        _check(
            "financing.makeOffer",
            address(financing),
            abi.encodeCall(financing.makeOffer, (noteId, 50_000_00, 500, false, uint64(block.timestamp + 1 days))),
            BANK
        );
    }

    function test_matrix_financing_acceptAndCancelOffer() public {
        (, uint256 noteId) = _issue();
        vm.prank(bank);
        uint256 offerId = financing.makeOffer(noteId, 50_000_00, 500, true, uint64(block.timestamp + 1 days));
        _check("financing.acceptOffer", address(financing), abi.encodeCall(financing.acceptOffer, (offerId)), SUP);
        _check("financing.cancelOffer", address(financing), abi.encodeCall(financing.cancelOffer, (offerId)), BANK);
    }

    function test_matrix_financing_lend() public {
        uint256 orderId = _pledged();
        _check(
            "financing.lend",
            address(financing),
            abi.encodeCall(financing.lend, (orderId, 50_000_00, 500, uint64(block.timestamp + 30 days))),
            BANK
        );
    }

    function test_matrix_financing_repay() public {
        (, uint256 loanId) = _loan();
        vm.warp(block.timestamp + 5 days);
        vm.prank(bank);
        cash.mint(supplier, 10_000_00, "interest"); // enough for principal + interest
        _check("financing.repay", address(financing), abi.encodeCall(financing.repay, (loanId)), SUP);
    }

    function test_matrix_financing_foreclose() public {
        (uint256 orderId, uint256 loanId) = _loan();
        vm.prank(supplier);
        orders.deliver(orderId);
        vm.prank(core);
        orders.accept(orderId, FACE, _maturity(), keccak256("inv-f"));
        vm.warp(block.timestamp + 31 days);
        _check("financing.foreclose", address(financing), abi.encodeCall(financing.foreclose, (loanId)), BANK);
    }

    function test_matrix_financing_recourse() public {
        (uint256 slotId, uint256 noteId) = _issue();
        vm.prank(bank);
        uint256 offerId = financing.makeOffer(noteId, uint96(FACE), 500, true, uint64(block.timestamp + 1 days));
        vm.prank(supplier);
        uint256 purchaseId = financing.acceptOffer(offerId);
        vm.warp(block.timestamp + TENOR + 7 days);
        settlement.markDefault(slotId);
        _check("financing.claimRecourse", address(financing), abi.encodeCall(financing.claimRecourse, (purchaseId)), BANK);
        vm.prank(bank);
        financing.claimRecourse(purchaseId);
        vm.prank(bank);
        cash.mint(supplier, FACE, "recourse");
        _check("financing.payRecourse", address(financing), abi.encodeCall(financing.payRecourse, (purchaseId)), SUP);
    }

    function test_matrix_financing_setMaxAdvanceBps() public {
        _check("financing.setMaxAdvanceBps", address(financing), abi.encodeCall(financing.setMaxAdvanceBps, (5_000)), OP);
    }

    function test_matrix_financing_pause() public {
        _pausedCheck("financing", address(financing));
    }

    // ================================================================== Settlement

    function test_matrix_settlement_fund() public {
        (uint256 slotId,) = _issue();
        _check("settlement.fund", address(settlement), abi.encodeCall(settlement.fund, (slotId, FACE)), CORE);
    }

    function test_matrix_settlement_settleAndRedeem() public {
        (uint256 slotId, uint256 noteId) = _issue();
        vm.prank(core);
        settlement.fund(slotId, FACE);
        vm.warp(block.timestamp + TENOR);
        // a keeper job: anyone may trigger payment to the holders
        _check("settlement.settle", address(settlement), abi.encodeCall(settlement.settle, (slotId, _ids(noteId))), ANYONE);
        _check("settlement.redeem", address(settlement), abi.encodeCall(settlement.redeem, (noteId)), SUP);
    }

    function test_matrix_settlement_defaultPath() public {
        (uint256 slotId, uint256 noteId) = _issue();
        vm.prank(core);
        settlement.fund(slotId, FACE / 2);
        vm.warp(block.timestamp + TENOR + 7 days);
        _check("settlement.markDefault", address(settlement), abi.encodeCall(settlement.markDefault, (slotId)), ANYONE);
        settlement.markDefault(slotId);
        _check(
            "settlement.claimDefaulted",
            address(settlement),
            abi.encodeCall(settlement.claimDefaulted, (slotId, _ids(noteId))),
            ANYONE
        );
    }

    function test_matrix_settlement_setGracePeriod() public {
        _check("settlement.setGracePeriod", address(settlement), abi.encodeCall(settlement.setGracePeriod, (3 days)), OP);
    }

    function test_matrix_settlement_pause() public {
        _pausedCheck("settlement", address(settlement));
    }

    // ================================================================== exact errors for representative functions

    /// @dev Like _check, but each actor's outcome is given exactly: empty = must succeed, else the revert data.
    function _checkExact(string memory label, address target, bytes memory data, bytes[7] memory errs) internal {
        for (uint256 i; i < actors.length; ++i) {
            uint256 snap = vm.snapshotState();
            vm.prank(actors[i]);
            (bool ok, bytes memory ret) = target.call(data);
            string memory what = string.concat(label, " by ", names[i]);
            if (errs[i].length == 0) {
                assertTrue(ok, string.concat(what, " should succeed, reverted with ", vm.toString(ret)));
            } else {
                assertFalse(ok, string.concat(what, " should revert"));
                assertEq(ret, errs[i], what);
            }
            vm.revertToState(snap);
        }
    }

    function _nam(address a) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(IMemberRegistry.NotAMember.selector, a);
    }

    function _mr(address a, uint8 required, uint8 held) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(IMemberRegistry.MissingRole.selector, a, required, held);
    }

    function _mna(address a) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(IMemberRegistry.MemberNotActive.selector, a, IMemberRegistry.Status.Suspended);
    }

    /// @dev Expected errors of a function guarded by `requireActive(msg.sender, role)` for the single-role actors.
    function _roleGuard(uint8 role) internal view returns (bytes[7] memory e) {
        e[0] = _nam(operator);
        e[1] = role & Roles.CORE_ENTERPRISE != 0 ? bytes("") : _mr(core, role, Roles.CORE_ENTERPRISE);
        e[2] = role & Roles.SUPPLIER != 0 ? bytes("") : _mr(supplier, role, Roles.SUPPLIER);
        e[3] = role & Roles.FINANCIER != 0 ? bytes("") : _mr(bank, role, Roles.FINANCIER);
        e[4] = role & Roles.AUDITOR != 0 ? bytes("") : _mr(auditor, role, Roles.AUDITOR);
        e[5] = _nam(outsider);
        e[6] = _mna(suspended);
    }

    function test_matrixExact_notes_issue() public {
        _checkExact(
            "notes.issue",
            address(notes),
            abi.encodeCall(notes.issue, (supplier, FACE, address(cash), _maturity(), keccak256("inv-m"))),
            _roleGuard(Roles.CORE_ENTERPRISE)
        );
    }

    function test_matrixExact_cash_mint() public {
        _checkExact(
            "cash.mint", address(cash), abi.encodeCall(cash.mint, (supplier, 100, "ref")), _roleGuard(Roles.FINANCIER)
        );
    }

    function test_matrixExact_cash_transfer() public {
        _checkExact(
            "cash.transfer", address(cash), abi.encodeCall(cash.transfer, (supplier2, 100)), _roleGuard(Roles.HOLDER)
        );
    }

    function test_matrixExact_orders_propose() public {
        _checkExact(
            "orders.propose",
            address(orders),
            abi.encodeCall(orders.propose, (core, FACE, address(cash), keccak256("po-m"), uint64(block.timestamp + 1 days))),
            _roleGuard(Roles.SUPPLIER)
        );
    }

    function test_matrixExact_orders_confirm() public {
        uint256 orderId = _proposed();
        _checkExact(
            "orders.confirm", address(orders), abi.encodeCall(orders.confirm, (orderId)), _roleGuard(Roles.CORE_ENTERPRISE)
        );
    }

    function test_matrixExact_orders_deliver() public {
        uint256 orderId = _confirmedOrder(FACE);
        _checkExact(
            "orders.deliver", address(orders), abi.encodeCall(orders.deliver, (orderId)), _roleGuard(Roles.SUPPLIER)
        );
    }

    function test_matrixExact_financing_lend() public {
        uint256 orderId = _pledged();
        _checkExact(
            "financing.lend",
            address(financing),
            abi.encodeCall(financing.lend, (orderId, 50_000_00, 500, uint64(block.timestamp + 30 days))),
            _roleGuard(Roles.FINANCIER)
        );
    }

    function test_matrixExact_financing_makeOffer() public {
        (, uint256 noteId) = _issue();
        _checkExact(
            "financing.makeOffer",
            address(financing),
            abi.encodeCall(financing.makeOffer, (noteId, 50_000_00, 500, false, uint64(block.timestamp + 1 days))),
            _roleGuard(Roles.FINANCIER)
        );
    }

    function test_matrixExact_notes_split() public {
        (, uint256 noteId) = _issue();
        bytes[7] memory e;
        for (uint256 i; i < actors.length; ++i) {
            if (actors[i] != supplier) {
                e[i] = abi.encodeWithSelector(IMemberHoldings.NotApproved.selector, noteId, actors[i]);
            }
        }
        _checkExact(
            "notes.split",
            address(notes),
            abi.encodeWithSignature("transferFrom(uint256,address,uint256)", noteId, supplier2, 10_000_00),
            e
        );
    }

    function test_matrixExact_operatorOnly_pause() public {
        address[5] memory targets = [address(cash), address(notes), address(orders), address(financing), address(settlement)];
        for (uint256 t; t < targets.length; ++t) {
            bytes[7] memory e;
            for (uint256 i = 1; i < actors.length; ++i) {
                e[i] = abi.encodeWithSignature("NotOperator(address)", actors[i]);
            }
            _checkExact("pause", targets[t], abi.encodeWithSignature("pause()"), e);
        }
    }

    // ================================================================== pause: nobody but operators changes state

    function _pause(address target) internal {
        vm.prank(operator);
        (bool ok,) = target.call(abi.encodeWithSignature("pause()"));
        assertTrue(ok);
    }

    function _expectPausedForAll(string memory label, address target, bytes memory data) internal {
        for (uint256 i; i < actors.length; ++i) {
            uint256 snap = vm.snapshotState();
            vm.prank(actors[i]);
            (bool ok, bytes memory ret) = target.call(data);
            string memory what = string.concat(label, " by ", names[i], " while paused");
            assertFalse(ok, what);
            // permitted actors hit the pause; the others may be rejected earlier by a permission check
            assertTrue(bytes4(ret) == LedgerAccess.EnforcedPause.selector || _isPermissionError(ret), what);
            vm.revertToState(snap);
        }
    }

    function test_pause_notesBlocksHolderCalls() public {
        (, uint256 noteId) = _issue();
        _pause(address(notes));
        bytes memory split = abi.encodeWithSignature("transferFrom(uint256,address,uint256)", noteId, supplier2, 10_000_00);
        _expectPausedForAll("notes.split", address(notes), split);
        vm.expectRevert(abi.encodeWithSelector(LedgerAccess.EnforcedPause.selector));
        vm.prank(supplier);
        notes.transferFrom(noteId, supplier2, 10_000_00);
        vm.expectRevert(abi.encodeWithSelector(LedgerAccess.EnforcedPause.selector));
        vm.prank(core);
        notes.issue(supplier, FACE, address(cash), _maturity(), keccak256("inv-p"));
        vm.expectRevert(abi.encodeWithSelector(LedgerAccess.EnforcedPause.selector));
        vm.prank(supplier);
        notes.lock(noteId, bank);
    }

    function test_pause_ordersBlocksLifecycle() public {
        uint256 orderId = _proposed();
        _pause(address(orders));
        vm.expectRevert(abi.encodeWithSelector(LedgerAccess.EnforcedPause.selector));
        vm.prank(core);
        orders.confirm(orderId);
        vm.expectRevert(abi.encodeWithSelector(LedgerAccess.EnforcedPause.selector));
        vm.prank(supplier);
        orders.propose(core, FACE, address(cash), keccak256("po-p"), uint64(block.timestamp + 1 days));
        vm.expectRevert(abi.encodeWithSelector(LedgerAccess.EnforcedPause.selector));
        vm.prank(supplier);
        orders.cancel(orderId);
    }

    function test_pause_financingBlocksOffersAndLoans() public {
        (, uint256 noteId) = _issue();
        uint256 orderId = _pledged();
        _pause(address(financing));
        vm.expectRevert(abi.encodeWithSelector(LedgerAccess.EnforcedPause.selector));
        vm.prank(bank);
        financing.makeOffer(noteId, 50_000_00, 500, false, uint64(block.timestamp + 1 days));
        vm.expectRevert(abi.encodeWithSelector(LedgerAccess.EnforcedPause.selector));
        vm.prank(bank);
        financing.lend(orderId, 50_000_00, 500, uint64(block.timestamp + 30 days));
    }

    function test_pause_settlementBlocksFundAndSettle() public {
        (uint256 slotId, uint256 noteId) = _issue();
        vm.prank(core);
        settlement.fund(slotId, FACE / 2);
        _pause(address(settlement));
        vm.expectRevert(abi.encodeWithSelector(LedgerAccess.EnforcedPause.selector));
        vm.prank(core);
        settlement.fund(slotId, FACE / 2);
        vm.warp(block.timestamp + TENOR + 7 days);
        vm.expectRevert(abi.encodeWithSelector(LedgerAccess.EnforcedPause.selector));
        settlement.markDefault(slotId);
        vm.expectRevert(abi.encodeWithSelector(LedgerAccess.EnforcedPause.selector));
        vm.prank(supplier);
        settlement.redeem(noteId);
    }

    function test_pause_cashBlocksSettlementFunding() public {
        (uint256 slotId,) = _issue();
        _pause(address(cash));
        vm.expectRevert(abi.encodeWithSelector(LedgerAccess.EnforcedPause.selector));
        vm.prank(core);
        settlement.fund(slotId, FACE);
    }

    function test_pause_notesBlocksSettle() public {
        (uint256 slotId, uint256 noteId) = _issue();
        vm.prank(core);
        settlement.fund(slotId, FACE);
        vm.warp(block.timestamp + TENOR);
        _pause(address(notes));
        vm.expectRevert(abi.encodeWithSelector(LedgerAccess.EnforcedPause.selector));
        settlement.settle(slotId, _ids(noteId));
    }

    /// @dev Regression: ReceivableNotes.setSlotStatus used to lack whenNotPaused, so Settlement.markDefault changed a
    ///      paused notes contract's slot status (and recorded the obligor's default).
    function test_pause_notesBlocksMarkDefault() public {
        (uint256 slotId,) = _issue();
        vm.warp(block.timestamp + TENOR + 7 days);
        _pause(address(notes));
        vm.expectRevert(abi.encodeWithSelector(LedgerAccess.EnforcedPause.selector));
        settlement.markDefault(slotId);
    }

    /// @dev Regression: while the order book is paused, Financing.repay cannot release the order's lien.
    function test_pause_ordersBlocksLienReleaseOnRepay() public {
        (uint256 orderId, uint256 loanId) = _loan();
        _pause(address(orders));
        vm.expectRevert(abi.encodeWithSelector(LedgerAccess.EnforcedPause.selector));
        vm.prank(supplier);
        financing.repay(loanId);
        assertEq(orders.lienholderOf(orderId), bankId);
    }

    // ================================================================== sanity of the machinery

    /// @dev The matrix helper itself must be able to fail: a permitted set that is wrong is detected.
    function test_matrix_helperDetectsWrongExpectation() public {
        (bool ok,) = address(this).call(abi.encodeCall(this.wrongExpectation, ()));
        assertFalse(ok);
    }

    function wrongExpectation() external {
        // mint is bank-only: claiming supplier may mint must fail the check
        _check("cash.mint(wrong)", address(cash), abi.encodeCall(cash.mint, (supplier, 100, "ref")), BANK | SUP);
    }
}
