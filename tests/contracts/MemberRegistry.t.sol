// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {Base} from "./Base.t.sol";
import {IMemberRegistry} from "../../contracts/interfaces/IMemberRegistry.sol";
import {IReceivableNotes} from "../../contracts/interfaces/IReceivableNotes.sol";
import {IMemberHoldings} from "../../contracts/interfaces/IMemberHoldings.sol";
import {IOrderBook} from "../../contracts/interfaces/IOrderBook.sol";
import {Roles} from "../../contracts/libraries/Roles.sol";

/// @notice Unit tests for every external function of MemberRegistry.
contract MemberRegistryTest is Base {
    address internal newcomer = makeAddr("newcomer");
    address internal ledger = makeAddr("ledger"); // a trusted ledger contract stand-in
    bytes32 internal constant KYC = keccak256("kyc-newcomer");

    function setUp() public override {
        super.setUp();
        vm.prank(operator);
        registry.setLedgerContract(ledger, true);
    }

    // ================================================================== constructor / initial state

    function test_constructor_grantsOperatorAndEnablesBlockPolicy() public view {
        assertTrue(registry.isOperator(operator));
        assertTrue(registry.hasRole(registry.DEFAULT_ADMIN_ROLE(), operator));
        assertFalse(registry.isOperator(core));
        assertTrue(registry.blockIssuanceOnDefault());
        assertEq(registry.memberCount(), 8);
    }

    // ================================================================== admit

    function test_admit_storesMemberAndEmits() public {
        vm.expectEmit(address(registry));
        emit IMemberRegistry.MemberAdmitted(9, newcomer, Roles.SUPPLIER | Roles.FINANCIER, KYC, 42);
        vm.expectEmit(address(registry));
        emit IMemberRegistry.CreditLimitSet(9, 777);
        vm.prank(operator);
        uint32 id = registry.admit(newcomer, Roles.SUPPLIER | Roles.FINANCIER, KYC, 42, 777);
        assertEq(id, 9);
        assertEq(registry.memberCount(), 9);
        assertEq(registry.memberIdOf(newcomer), 9);
        assertEq(registry.accountOf(9), newcomer);
        IMemberRegistry.Member memory m = registry.member(9);
        assertEq(m.account, newcomer);
        assertEq(m.roles, Roles.SUPPLIER | Roles.FINANCIER);
        assertEq(uint8(m.status), uint8(IMemberRegistry.Status.Active));
        assertEq(m.defaultCount, 0);
        assertFalse(m.issuanceBlocked);
        assertEq(m.groupId, 42);
        assertEq(m.creditLimit, 777);
        assertEq(m.outstanding, 0);
        assertEq(m.kycHash, KYC);
    }

    function test_admit_zeroCreditLimitEmitsNoCreditEvent() public {
        vm.recordLogs();
        vm.prank(operator);
        uint32 id = registry.admit(newcomer, Roles.AUDITOR, bytes32(0), 0, 0);
        assertEq(vm.getRecordedLogs().length, 1); // MemberAdmitted only
        IMemberRegistry.Member memory m = registry.member(id);
        assertEq(m.creditLimit, 0);
        assertEq(m.kycHash, bytes32(0));
        assertEq(m.groupId, 0);
    }

    function test_admit_revertsForNonOperator() public {
        vm.expectRevert(abi.encodeWithSelector(IMemberRegistry.NotOperator.selector, core));
        vm.prank(core);
        registry.admit(newcomer, Roles.SUPPLIER, KYC, 0, 0);
    }

    function test_admit_revertsForOutsider() public {
        vm.expectRevert(abi.encodeWithSelector(IMemberRegistry.NotOperator.selector, outsider));
        vm.prank(outsider);
        registry.admit(newcomer, Roles.SUPPLIER, KYC, 0, 0);
    }

    function test_admit_revertsForZeroAddress() public {
        vm.expectRevert(abi.encodeWithSelector(IMemberRegistry.ZeroAddress.selector));
        vm.prank(operator);
        registry.admit(address(0), Roles.SUPPLIER, KYC, 0, 0);
    }

    function test_admit_revertsForZeroRoles() public {
        vm.expectRevert(abi.encodeWithSelector(IMemberRegistry.InvalidRoles.selector, uint8(0)));
        vm.prank(operator);
        registry.admit(newcomer, 0, KYC, 0, 0);
    }

    function test_admit_revertsForRolesAboveAll() public {
        vm.expectRevert(abi.encodeWithSelector(IMemberRegistry.InvalidRoles.selector, uint8(16)));
        vm.prank(operator);
        registry.admit(newcomer, 16, KYC, 0, 0);
    }

    function test_admit_acceptsAllRoles() public {
        vm.prank(operator);
        uint32 id = registry.admit(newcomer, Roles.ALL, KYC, 0, 0);
        assertEq(registry.member(id).roles, Roles.ALL);
    }

    function test_admit_revertsForRegisteredAccount() public {
        vm.expectRevert(abi.encodeWithSelector(IMemberRegistry.AccountAlreadyRegistered.selector, supplier, supplierId));
        vm.prank(operator);
        registry.admit(supplier, Roles.SUPPLIER, KYC, 0, 0);
    }

    function test_admit_revertsForSuspendedAccount() public {
        vm.expectRevert(
            abi.encodeWithSelector(IMemberRegistry.AccountAlreadyRegistered.selector, suspended, suspendedId)
        );
        vm.prank(operator);
        registry.admit(suspended, Roles.SUPPLIER, KYC, 0, 0);
    }

    // ================================================================== suspend / reinstate

    function test_suspend_setsStatusAndEmits() public {
        vm.expectEmit(address(registry));
        emit IMemberRegistry.MemberSuspended(supplierId);
        vm.prank(operator);
        registry.suspend(supplierId);
        assertEq(uint8(registry.member(supplierId).status), uint8(IMemberRegistry.Status.Suspended));
        assertFalse(registry.isActive(supplier, Roles.SUPPLIER));
        vm.expectRevert(
            abi.encodeWithSelector(
                IMemberRegistry.MemberNotActive.selector, supplier, IMemberRegistry.Status.Suspended
            )
        );
        registry.requireActive(supplier, Roles.SUPPLIER);
    }

    function test_suspend_revertsForNonOperator() public {
        vm.expectRevert(abi.encodeWithSelector(IMemberRegistry.NotOperator.selector, bank));
        vm.prank(bank);
        registry.suspend(supplierId);
    }

    function test_suspend_revertsForUnknownMember() public {
        vm.expectRevert(abi.encodeWithSelector(IMemberRegistry.UnknownMember.selector, uint32(99)));
        vm.prank(operator);
        registry.suspend(99);
    }

    function test_suspend_revertsForMemberZero() public {
        vm.expectRevert(abi.encodeWithSelector(IMemberRegistry.UnknownMember.selector, uint32(0)));
        vm.prank(operator);
        registry.suspend(0);
    }

    function test_suspend_revertsWhenAlreadySuspended() public {
        vm.expectRevert(
            abi.encodeWithSelector(
                IMemberRegistry.MemberNotActive.selector, suspended, IMemberRegistry.Status.Suspended
            )
        );
        vm.prank(operator);
        registry.suspend(suspendedId);
    }

    function test_reinstate_setsActiveAndEmits() public {
        vm.expectEmit(address(registry));
        emit IMemberRegistry.MemberReinstated(suspendedId);
        vm.prank(operator);
        registry.reinstate(suspendedId);
        assertEq(uint8(registry.member(suspendedId).status), uint8(IMemberRegistry.Status.Active));
        assertTrue(registry.isActive(suspended, Roles.SUPPLIER));
        assertEq(registry.requireActive(suspended, Roles.SUPPLIER), suspendedId);
    }

    function test_reinstate_revertsForNonOperator() public {
        vm.expectRevert(abi.encodeWithSelector(IMemberRegistry.NotOperator.selector, suspended));
        vm.prank(suspended);
        registry.reinstate(suspendedId);
    }

    function test_reinstate_revertsForActiveMember() public {
        vm.expectRevert(abi.encodeWithSelector(IMemberRegistry.MemberNotSuspended.selector, supplierId));
        vm.prank(operator);
        registry.reinstate(supplierId);
    }

    function test_reinstate_revertsForUnknownMember() public {
        vm.expectRevert(abi.encodeWithSelector(IMemberRegistry.UnknownMember.selector, uint32(99)));
        vm.prank(operator);
        registry.reinstate(99);
    }

    // ================================================================== setRoles / setKycHash / setGroup

    function test_setRoles_updatesAndEmits() public {
        vm.expectEmit(address(registry));
        emit IMemberRegistry.MemberRolesChanged(supplierId, Roles.SUPPLIER | Roles.FINANCIER);
        vm.prank(operator);
        registry.setRoles(supplierId, Roles.SUPPLIER | Roles.FINANCIER);
        assertEq(registry.member(supplierId).roles, Roles.SUPPLIER | Roles.FINANCIER);
        assertTrue(registry.isActive(supplier, Roles.FINANCIER));
    }

    function test_setRoles_revertsForNonOperator() public {
        vm.expectRevert(abi.encodeWithSelector(IMemberRegistry.NotOperator.selector, supplier));
        vm.prank(supplier);
        registry.setRoles(supplierId, Roles.ALL);
    }

    function test_setRoles_revertsForZeroRoles() public {
        vm.expectRevert(abi.encodeWithSelector(IMemberRegistry.InvalidRoles.selector, uint8(0)));
        vm.prank(operator);
        registry.setRoles(supplierId, 0);
    }

    function test_setRoles_revertsForRolesAboveAll() public {
        vm.expectRevert(abi.encodeWithSelector(IMemberRegistry.InvalidRoles.selector, uint8(255)));
        vm.prank(operator);
        registry.setRoles(supplierId, 255);
    }

    function test_setRoles_revertsForUnknownMember() public {
        vm.expectRevert(abi.encodeWithSelector(IMemberRegistry.UnknownMember.selector, uint32(99)));
        vm.prank(operator);
        registry.setRoles(99, Roles.SUPPLIER);
    }

    function test_setKycHash_updatesAndEmits() public {
        vm.expectEmit(address(registry));
        emit IMemberRegistry.MemberKycUpdated(bankId, KYC);
        vm.prank(operator);
        registry.setKycHash(bankId, KYC);
        assertEq(registry.member(bankId).kycHash, KYC);
    }

    function test_setKycHash_revertsForNonOperator() public {
        vm.expectRevert(abi.encodeWithSelector(IMemberRegistry.NotOperator.selector, auditor));
        vm.prank(auditor);
        registry.setKycHash(bankId, KYC);
    }

    function test_setKycHash_revertsForUnknownMember() public {
        vm.expectRevert(abi.encodeWithSelector(IMemberRegistry.UnknownMember.selector, uint32(99)));
        vm.prank(operator);
        registry.setKycHash(99, KYC);
    }

    function test_setGroup_updatesAndEmits() public {
        vm.expectEmit(address(registry));
        emit IMemberRegistry.MemberGroupChanged(supplierId, 1);
        vm.prank(operator);
        registry.setGroup(supplierId, 1);
        assertEq(registry.member(supplierId).groupId, 1);
    }

    function test_setGroup_revertsForNonOperator() public {
        vm.expectRevert(abi.encodeWithSelector(IMemberRegistry.NotOperator.selector, core));
        vm.prank(core);
        registry.setGroup(supplierId, 1);
    }

    function test_setGroup_revertsForUnknownMember() public {
        vm.expectRevert(abi.encodeWithSelector(IMemberRegistry.UnknownMember.selector, uint32(99)));
        vm.prank(operator);
        registry.setGroup(99, 1);
    }

    // ================================================================== setCreditLimit

    function test_setCreditLimit_updatesAndEmits() public {
        vm.expectEmit(address(registry));
        emit IMemberRegistry.CreditLimitSet(coreId, 5);
        vm.prank(operator);
        registry.setCreditLimit(coreId, 5);
        assertEq(registry.member(coreId).creditLimit, 5);
    }

    function test_setCreditLimit_belowOutstandingBlocksFurtherIssuance() public {
        _issue(); // outstanding FACE
        vm.prank(operator);
        registry.setCreditLimit(coreId, FACE - 1);
        assertEq(registry.member(coreId).outstanding, FACE);
        vm.expectRevert(
            abi.encodeWithSelector(
                IMemberRegistry.CreditLimitExceeded.selector, coreId, uint256(FACE), uint256(1), uint256(FACE - 1)
            )
        );
        vm.prank(ledger);
        registry.increaseOutstanding(coreId, 1);
    }

    function test_setCreditLimit_revertsForNonOperator() public {
        vm.expectRevert(abi.encodeWithSelector(IMemberRegistry.NotOperator.selector, core));
        vm.prank(core);
        registry.setCreditLimit(coreId, type(uint128).max);
    }

    function test_setCreditLimit_revertsForUnknownMember() public {
        vm.expectRevert(abi.encodeWithSelector(IMemberRegistry.UnknownMember.selector, uint32(99)));
        vm.prank(operator);
        registry.setCreditLimit(99, 1);
    }

    // ================================================================== rotateAccount

    function test_rotateAccount_movesIdAndEmits() public {
        vm.expectEmit(address(registry));
        emit IMemberRegistry.MemberAccountRotated(supplierId, supplier, newcomer);
        vm.prank(operator);
        registry.rotateAccount(supplierId, newcomer);
        assertEq(registry.memberIdOf(newcomer), supplierId);
        assertEq(registry.memberIdOf(supplier), 0);
        assertEq(registry.accountOf(supplierId), newcomer);
        assertEq(registry.member(supplierId).account, newcomer);
        assertEq(registry.memberCount(), 8);
        assertTrue(registry.isActive(newcomer, Roles.SUPPLIER));
        assertFalse(registry.isActive(supplier, Roles.SUPPLIER));
        vm.expectRevert(abi.encodeWithSelector(IMemberRegistry.NotAMember.selector, supplier));
        registry.requireActive(supplier, Roles.SUPPLIER);
    }

    function test_rotateAccount_keepsNoteHoldings() public {
        (, uint256 noteId) = _issue();
        _rotate(supplierId, newcomer, _ids(noteId), _ids());

        assertEq(notes.ownerOf(noteId), newcomer);
        assertEq(notes.balanceOf(newcomer), 1);
        assertEq(notes.balanceOf(supplier), 0);

        // the new account can split the note
        uint256 child = _split(newcomer, noteId, supplier2, 10_000_00);
        assertEq(notes.ownerOf(child), supplier2);
        assertEq(notes.balanceOf(child), 10_000_00);
        assertEq(notes.balanceOf(noteId), FACE - 10_000_00);

        // the old account can no longer act on the note or as a member
        vm.expectRevert(abi.encodeWithSelector(IMemberHoldings.NotApproved.selector, noteId, supplier));
        vm.prank(supplier);
        notes.transferFrom(noteId, supplier2, 10_000_00);

        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.NotNoteHolder.selector, noteId, supplier));
        vm.prank(supplier);
        notes.transferFrom(supplier, supplier2, noteId);

        vm.expectRevert(abi.encodeWithSelector(IMemberRegistry.NotAMember.selector, supplier));
        vm.prank(supplier);
        orders.propose(core, FACE, address(cash), keccak256("po"), uint64(block.timestamp + 1 days));
    }

    function test_rotateAccount_newAccountCanWholeTransfer() public {
        (, uint256 noteId) = _issue();
        _rotate(supplierId, newcomer, _ids(noteId), _ids());
        vm.prank(newcomer);
        notes.transferFrom(newcomer, bank, noteId);
        assertEq(notes.ownerOf(noteId), bank);
    }

    function test_rotateAccount_keepsOrdersAndLiens() public {
        uint256 orderId = _confirmedOrder(FACE);
        vm.prank(supplier);
        orders.pledge(orderId, bank);
        _rotate(supplierId, newcomer, _ids(), _ids(orderId));
        address newBank = makeAddr("newBank");
        _rotate(bankId, newBank, _ids(), _ids());

        assertEq(orders.ownerOf(orderId), newcomer);
        assertEq(orders.lienholderOf(orderId), bankId);
        // the old bank account lost the lien rights, the new one holds them
        vm.expectRevert(abi.encodeWithSelector(IOrderBook.NotLienholder.selector, orderId, bank));
        vm.prank(bank);
        orders.release(orderId);
        vm.prank(newBank);
        orders.release(orderId);
        assertEq(orders.lienholderOf(orderId), 0);
        // the new supplier account delivers (it is the proposing supplier's member id)
        vm.prank(newcomer);
        orders.deliver(orderId);
        assertEq(uint8(orders.order(orderId).status), uint8(IOrderBook.OrderStatus.Delivered));
    }

    function test_rotateAccount_oldAccountCanBeReadmitted() public {
        vm.startPrank(operator);
        registry.rotateAccount(supplierId, newcomer);
        uint32 id = registry.admit(supplier, Roles.AUDITOR, KYC, 0, 0);
        vm.stopPrank();
        assertEq(id, 9);
        assertEq(registry.memberIdOf(supplier), 9);
        assertEq(registry.memberIdOf(newcomer), supplierId);
    }

    // Cash (an ERC-20 keyed by address) does not follow the member id: see CashTokenTest.test_recoverRotatedBalance_*.

    function test_rotateAccount_revertsForNonOperator() public {
        vm.expectRevert(abi.encodeWithSelector(IMemberRegistry.NotOperator.selector, supplier));
        vm.prank(supplier);
        registry.rotateAccount(supplierId, newcomer);
    }

    function test_rotateAccount_revertsForZeroAddress() public {
        vm.expectRevert(abi.encodeWithSelector(IMemberRegistry.ZeroAddress.selector));
        vm.prank(operator);
        registry.rotateAccount(supplierId, address(0));
    }

    function test_rotateAccount_revertsForUnknownMember() public {
        vm.expectRevert(abi.encodeWithSelector(IMemberRegistry.UnknownMember.selector, uint32(99)));
        vm.prank(operator);
        registry.rotateAccount(99, newcomer);
    }

    function test_rotateAccount_revertsForRegisteredAccount() public {
        vm.expectRevert(abi.encodeWithSelector(IMemberRegistry.AccountAlreadyRegistered.selector, bank, bankId));
        vm.prank(operator);
        registry.rotateAccount(supplierId, bank);
    }

    function test_rotateAccount_revertsForOwnAccount() public {
        vm.expectRevert(
            abi.encodeWithSelector(IMemberRegistry.AccountAlreadyRegistered.selector, supplier, supplierId)
        );
        vm.prank(operator);
        registry.rotateAccount(supplierId, supplier);
    }

    // ================================================================== default block

    function test_clearDefaultBlock_clearsAndEmits() public {
        vm.prank(ledger);
        registry.recordDefault(coreId, 100);
        assertTrue(registry.member(coreId).issuanceBlocked);
        vm.expectEmit(address(registry));
        emit IMemberRegistry.DefaultBlockCleared(coreId);
        vm.prank(operator);
        registry.clearDefaultBlock(coreId);
        IMemberRegistry.Member memory m = registry.member(coreId);
        assertFalse(m.issuanceBlocked);
        assertEq(m.defaultCount, 1); // history kept
        vm.prank(ledger);
        registry.increaseOutstanding(coreId, 1);
        assertEq(registry.member(coreId).outstanding, 1);
    }

    function test_clearDefaultBlock_revertsForNonOperator() public {
        vm.prank(ledger);
        registry.recordDefault(coreId, 100);
        vm.expectRevert(abi.encodeWithSelector(IMemberRegistry.NotOperator.selector, core));
        vm.prank(core);
        registry.clearDefaultBlock(coreId);
    }

    function test_clearDefaultBlock_revertsWhenNotBlocked() public {
        vm.expectRevert(abi.encodeWithSelector(IMemberRegistry.NotBlocked.selector, coreId));
        vm.prank(operator);
        registry.clearDefaultBlock(coreId);
    }

    function test_clearDefaultBlock_revertsForUnknownMember() public {
        vm.expectRevert(abi.encodeWithSelector(IMemberRegistry.UnknownMember.selector, uint32(99)));
        vm.prank(operator);
        registry.clearDefaultBlock(99);
    }

    function test_setBlockIssuanceOnDefault_updatesAndEmits() public {
        vm.expectEmit(address(registry));
        emit IMemberRegistry.BlockIssuanceOnDefaultSet(false);
        vm.prank(operator);
        registry.setBlockIssuanceOnDefault(false);
        assertFalse(registry.blockIssuanceOnDefault());
    }

    function test_setBlockIssuanceOnDefault_revertsForNonOperator() public {
        vm.expectRevert(abi.encodeWithSelector(IMemberRegistry.NotOperator.selector, bank));
        vm.prank(bank);
        registry.setBlockIssuanceOnDefault(false);
    }

    function test_setBlockIssuanceOnDefault_disabledDefaultDoesNotBlock() public {
        vm.prank(operator);
        registry.setBlockIssuanceOnDefault(false);
        vm.expectEmit(address(registry));
        emit IMemberRegistry.DefaultRecorded(coreId, 1, false, 50);
        vm.prank(ledger);
        registry.recordDefault(coreId, 50);
        assertFalse(registry.member(coreId).issuanceBlocked);
        vm.prank(ledger);
        registry.increaseOutstanding(coreId, 10);
        assertEq(registry.member(coreId).outstanding, 10);
    }

    function test_setBlockIssuanceOnDefault_disablingLiftsExistingBlock() public {
        vm.prank(ledger);
        registry.recordDefault(coreId, 50);
        vm.prank(operator);
        registry.setBlockIssuanceOnDefault(false);
        assertTrue(registry.member(coreId).issuanceBlocked);
        vm.prank(ledger);
        registry.increaseOutstanding(coreId, 10); // policy off: the flag no longer blocks
        assertEq(registry.member(coreId).outstanding, 10);
    }

    // ================================================================== setLedgerContract

    function test_setLedgerContract_enablesDisablesAndEmits() public {
        vm.expectEmit(address(registry));
        emit IMemberRegistry.LedgerContractSet(newcomer, true);
        vm.prank(operator);
        registry.setLedgerContract(newcomer, true);
        assertTrue(registry.isLedgerContract(newcomer));
        vm.expectEmit(address(registry));
        emit IMemberRegistry.LedgerContractSet(newcomer, false);
        vm.prank(operator);
        registry.setLedgerContract(newcomer, false);
        assertFalse(registry.isLedgerContract(newcomer));
        vm.expectRevert(abi.encodeWithSelector(IMemberRegistry.NotLedgerContract.selector, newcomer));
        vm.prank(newcomer);
        registry.increaseOutstanding(coreId, 1);
    }

    function test_setLedgerContract_revertsForNonOperator() public {
        vm.expectRevert(abi.encodeWithSelector(IMemberRegistry.NotOperator.selector, outsider));
        vm.prank(outsider);
        registry.setLedgerContract(outsider, true);
    }

    function test_setLedgerContract_revertsForZeroAddress() public {
        vm.expectRevert(abi.encodeWithSelector(IMemberRegistry.ZeroAddress.selector));
        vm.prank(operator);
        registry.setLedgerContract(address(0), true);
    }

    function test_isLedgerContract_trueForDeployedContracts() public view {
        assertTrue(registry.isLedgerContract(address(cash)));
        assertTrue(registry.isLedgerContract(address(notes)));
        assertTrue(registry.isLedgerContract(address(orders)));
        assertTrue(registry.isLedgerContract(address(financing)));
        assertTrue(registry.isLedgerContract(address(settlement)));
        assertFalse(registry.isLedgerContract(operator));
    }

    // ================================================================== ledger hooks

    function test_increaseOutstanding_updatesAndEmits() public {
        vm.expectEmit(address(registry));
        emit IMemberRegistry.OutstandingChanged(coreId, 300);
        vm.prank(ledger);
        registry.increaseOutstanding(coreId, 300);
        assertEq(registry.member(coreId).outstanding, 300);
    }

    function test_increaseOutstanding_upToLimitExactly() public {
        vm.prank(ledger);
        registry.increaseOutstanding(coreId, CREDIT);
        assertEq(registry.member(coreId).outstanding, CREDIT);
    }

    function test_increaseOutstanding_revertsForNonLedger() public {
        vm.expectRevert(abi.encodeWithSelector(IMemberRegistry.NotLedgerContract.selector, operator));
        vm.prank(operator);
        registry.increaseOutstanding(coreId, 1);
    }

    function test_increaseOutstanding_revertsForMemberCaller() public {
        vm.expectRevert(abi.encodeWithSelector(IMemberRegistry.NotLedgerContract.selector, core));
        vm.prank(core);
        registry.increaseOutstanding(coreId, 1);
    }

    function test_increaseOutstanding_revertsAboveCreditLimit() public {
        vm.prank(ledger);
        registry.increaseOutstanding(coreId, 100);
        vm.expectRevert(
            abi.encodeWithSelector(
                IMemberRegistry.CreditLimitExceeded.selector, coreId, uint256(100), uint256(CREDIT), uint256(CREDIT)
            )
        );
        vm.prank(ledger);
        registry.increaseOutstanding(coreId, CREDIT);
    }

    function test_increaseOutstanding_revertsForMemberWithoutLimit() public {
        vm.expectRevert(
            abi.encodeWithSelector(
                IMemberRegistry.CreditLimitExceeded.selector, supplierId, uint256(0), uint256(1), uint256(0)
            )
        );
        vm.prank(ledger);
        registry.increaseOutstanding(supplierId, 1);
    }

    function test_increaseOutstanding_revertsWhenBlockedByDefault() public {
        vm.prank(ledger);
        registry.recordDefault(coreId, 1);
        vm.expectRevert(abi.encodeWithSelector(IMemberRegistry.IssuanceBlockedByDefault.selector, coreId, uint32(1)));
        vm.prank(ledger);
        registry.increaseOutstanding(coreId, 1);
    }

    function test_increaseOutstanding_revertsForUnknownMember() public {
        vm.expectRevert(abi.encodeWithSelector(IMemberRegistry.UnknownMember.selector, uint32(99)));
        vm.prank(ledger);
        registry.increaseOutstanding(99, 1);
    }

    function test_issue_blockedByDefaultThroughNotes() public {
        vm.prank(ledger);
        registry.recordDefault(coreId, 1);
        vm.expectRevert(abi.encodeWithSelector(IMemberRegistry.IssuanceBlockedByDefault.selector, coreId, uint32(1)));
        vm.prank(core);
        notes.issue(supplier, FACE, address(cash), uint64(block.timestamp + TENOR), keccak256("inv-x"));
    }

    function test_decreaseOutstanding_updatesAndEmits() public {
        vm.prank(ledger);
        registry.increaseOutstanding(coreId, 300);
        vm.expectEmit(address(registry));
        emit IMemberRegistry.OutstandingChanged(coreId, 100);
        vm.prank(ledger);
        registry.decreaseOutstanding(coreId, 200);
        assertEq(registry.member(coreId).outstanding, 100);
    }

    function test_decreaseOutstanding_revertsForNonLedger() public {
        vm.expectRevert(abi.encodeWithSelector(IMemberRegistry.NotLedgerContract.selector, bank));
        vm.prank(bank);
        registry.decreaseOutstanding(coreId, 1);
    }

    function test_decreaseOutstanding_revertsOnUnderflow() public {
        vm.prank(ledger);
        registry.increaseOutstanding(coreId, 5);
        vm.expectRevert(
            abi.encodeWithSelector(IMemberRegistry.OutstandingUnderflow.selector, coreId, uint256(5), uint256(6))
        );
        vm.prank(ledger);
        registry.decreaseOutstanding(coreId, 6);
    }

    function test_decreaseOutstanding_revertsForUnknownMember() public {
        vm.expectRevert(abi.encodeWithSelector(IMemberRegistry.UnknownMember.selector, uint32(99)));
        vm.prank(ledger);
        registry.decreaseOutstanding(99, 0);
    }

    function test_recordDefault_countsBlocksAndEmits() public {
        vm.expectEmit(address(registry));
        emit IMemberRegistry.DefaultRecorded(coreId, 1, true, 1234);
        vm.prank(ledger);
        registry.recordDefault(coreId, 1234);
        vm.expectEmit(address(registry));
        emit IMemberRegistry.DefaultRecorded(coreId, 2, true, 5);
        vm.prank(ledger);
        registry.recordDefault(coreId, 5);
        IMemberRegistry.Member memory m = registry.member(coreId);
        assertEq(m.defaultCount, 2);
        assertTrue(m.issuanceBlocked);
    }

    function test_recordDefault_revertsForNonLedger() public {
        vm.expectRevert(abi.encodeWithSelector(IMemberRegistry.NotLedgerContract.selector, operator));
        vm.prank(operator);
        registry.recordDefault(coreId, 1);
    }

    function test_recordDefault_revertsForUnknownMember() public {
        vm.expectRevert(abi.encodeWithSelector(IMemberRegistry.UnknownMember.selector, uint32(99)));
        vm.prank(ledger);
        registry.recordDefault(99, 1);
    }

    // ================================================================== views

    function test_requireActive_returnsId() public view {
        assertEq(registry.requireActive(core, Roles.CORE_ENTERPRISE), coreId);
        assertEq(registry.requireActive(bank, Roles.HOLDER), bankId);
        assertEq(registry.requireActive(auditor, Roles.AUDITOR), auditorId);
    }

    function test_requireActive_revertsForNonMember() public {
        vm.expectRevert(abi.encodeWithSelector(IMemberRegistry.NotAMember.selector, outsider));
        registry.requireActive(outsider, Roles.ALL);
    }

    function test_requireActive_revertsForSuspended() public {
        vm.expectRevert(
            abi.encodeWithSelector(
                IMemberRegistry.MemberNotActive.selector, suspended, IMemberRegistry.Status.Suspended
            )
        );
        registry.requireActive(suspended, Roles.SUPPLIER);
    }

    function test_requireActive_revertsForMissingRole() public {
        vm.expectRevert(
            abi.encodeWithSelector(
                IMemberRegistry.MissingRole.selector, supplier, Roles.FINANCIER, Roles.SUPPLIER
            )
        );
        registry.requireActive(supplier, Roles.FINANCIER);
    }

    function test_requireActive_revertsForAuditorAsHolder() public {
        vm.expectRevert(
            abi.encodeWithSelector(IMemberRegistry.MissingRole.selector, auditor, Roles.HOLDER, Roles.AUDITOR)
        );
        registry.requireActive(auditor, Roles.HOLDER);
    }

    function test_requireActiveId_returnsAccount() public view {
        assertEq(registry.requireActiveId(supplierId, Roles.SUPPLIER), supplier);
        assertEq(registry.requireActiveId(coreId, Roles.HOLDER), core);
    }

    function test_requireActiveId_revertsForUnknownMember() public {
        vm.expectRevert(abi.encodeWithSelector(IMemberRegistry.UnknownMember.selector, uint32(99)));
        registry.requireActiveId(99, Roles.ALL);
    }

    function test_requireActiveId_revertsForSuspended() public {
        vm.expectRevert(
            abi.encodeWithSelector(
                IMemberRegistry.MemberNotActive.selector, suspended, IMemberRegistry.Status.Suspended
            )
        );
        registry.requireActiveId(suspendedId, Roles.SUPPLIER);
    }

    function test_requireActiveId_revertsForMissingRole() public {
        vm.expectRevert(
            abi.encodeWithSelector(
                IMemberRegistry.MissingRole.selector, bank, Roles.CORE_ENTERPRISE, Roles.FINANCIER
            )
        );
        registry.requireActiveId(bankId, Roles.CORE_ENTERPRISE);
    }

    function test_isActive_reflectsStatusAndRoles() public view {
        assertTrue(registry.isActive(core, Roles.CORE_ENTERPRISE));
        assertTrue(registry.isActive(core, Roles.HOLDER));
        assertFalse(registry.isActive(core, Roles.FINANCIER));
        assertFalse(registry.isActive(outsider, Roles.ALL));
        assertFalse(registry.isActive(suspended, Roles.SUPPLIER));
        assertFalse(registry.isActive(auditor, Roles.HOLDER));
        assertTrue(registry.isActive(auditor, Roles.AUDITOR));
        assertFalse(registry.isActive(address(0), Roles.ALL));
    }

    function test_member_returnsFixtureData() public view {
        IMemberRegistry.Member memory m = registry.member(coreId);
        assertEq(m.account, core);
        assertEq(m.roles, Roles.CORE_ENTERPRISE);
        assertEq(uint8(m.status), uint8(IMemberRegistry.Status.Active));
        assertEq(m.groupId, 1);
        assertEq(m.creditLimit, CREDIT);
        assertEq(m.outstanding, 0);
        assertEq(m.kycHash, keccak256("kyc-core"));
        IMemberRegistry.Member memory s = registry.member(suspendedId);
        assertEq(uint8(s.status), uint8(IMemberRegistry.Status.Suspended));
        assertEq(s.groupId, 8);
    }

    function test_member_tracksOutstandingOfIssuedNotes() public {
        _issue();
        assertEq(registry.member(coreId).outstanding, FACE);
    }

    function test_member_revertsForUnknownMember() public {
        vm.expectRevert(abi.encodeWithSelector(IMemberRegistry.UnknownMember.selector, uint32(0)));
        registry.member(0);
        vm.expectRevert(abi.encodeWithSelector(IMemberRegistry.UnknownMember.selector, uint32(9)));
        registry.member(9);
    }

    function test_memberCount_countsAdmissions() public {
        assertEq(registry.memberCount(), 8);
        vm.prank(operator);
        registry.admit(newcomer, Roles.AUDITOR, KYC, 0, 0);
        assertEq(registry.memberCount(), 9);
        vm.prank(operator);
        registry.suspend(9);
        assertEq(registry.memberCount(), 9); // suspension does not remove
    }

    function test_memberIdOf_andAccountOf_unknownAreZero() public view {
        assertEq(registry.memberIdOf(outsider), 0);
        assertEq(registry.accountOf(99), address(0));
        assertEq(registry.memberIdOf(supplier), supplierId);
        assertEq(registry.accountOf(bankId), bank);
    }

    function test_isOperator_followsAccessControlGrant() public {
        bytes32 role = registry.OPERATOR_ROLE();
        vm.prank(operator);
        registry.grantRole(role, newcomer);
        assertTrue(registry.isOperator(newcomer));
        vm.prank(newcomer);
        registry.setGroup(coreId, 77);
        assertEq(registry.member(coreId).groupId, 77);
    }
}
