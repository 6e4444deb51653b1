// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {Base} from "./Base.t.sol";
import {IReceivableNotes} from "../../contracts/interfaces/IReceivableNotes.sol";
import {IMemberHoldings} from "../../contracts/interfaces/IMemberHoldings.sol";
import {IMemberRegistry} from "../../contracts/interfaces/IMemberRegistry.sol";
import {IERC3525, IERC3525Metadata} from "../../contracts/interfaces/IERC3525.sol";
import {ReceivableNotes} from "../../contracts/receivables/ReceivableNotes.sol";
import {IERC721} from "@openzeppelin/contracts/token/ERC721/IERC721.sol";
import {LedgerAccess} from "../../contracts/libraries/LedgerAccess.sol";
import {Roles} from "../../contracts/libraries/Roles.sol";
import {IERC721Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";

/// @dev A member contract that may declare ERC-3525 receiver support and answers the callbacks.
contract NoteReceiverMock {
    bytes4 public answer;
    bool public supports3525;
    uint256 public calls;
    uint256 public lastFrom;
    uint256 public lastTo;
    uint256 public lastValue;

    constructor(bytes4 answer_, bool supports_) {
        answer = answer_;
        supports3525 = supports_;
    }

    function supportsInterface(bytes4 id) external view returns (bool) {
        return supports3525 && id == 0x009ce20b;
    }

    function onERC3525Received(address, uint256 fromId, uint256 toId, uint256 value, bytes calldata)
        external
        returns (bytes4)
    {
        calls += 1;
        lastFrom = fromId;
        lastTo = toId;
        lastValue = value;
        return answer;
    }

    function onERC721Received(address, address, uint256, bytes calldata) external pure returns (bytes4) {
        return this.onERC721Received.selector;
    }
}

/// @dev A member contract with no receiver hooks at all.
contract PlainContractMock {}

/// @notice Unit and fuzz tests of ReceivableNotes (ERC-3525 receivable notes).
contract ReceivableNotesTest is Base {
    bytes32 internal constant INV = keccak256("invoice-1");
    bytes32 internal constant INV2 = keccak256("invoice-2");
    uint256 internal constant MIN = 100; // default minSplitValue
    uint256 internal constant PER = FACE / 500; // S-3: a FACE receivable's minimum note value, face / cap

    // ------------------------------------------------------------------ helpers

    function _maturity() internal view returns (uint64) {
        return uint64(block.timestamp + TENOR);
    }

    function _lock(uint256 noteId, address lienholder) internal {
        vm.prank(_ownerOf(noteId));
        notes.lock(noteId, lienholder);
    }

    function _ownerOf(uint256 noteId) internal view returns (address) {
        return notes.ownerOf(noteId);
    }

    function _pause() internal {
        vm.prank(operator);
        notes.pause();
    }

    function _suspend(uint32 id) internal {
        vm.prank(operator);
        registry.suspend(id);
    }

    function _notActive(address account) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(
            IMemberRegistry.MemberNotActive.selector, account, IMemberRegistry.Status.Suspended
        );
    }

    function _missingRole(address account, uint8 required, uint8 held) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(IMemberRegistry.MissingRole.selector, account, required, held);
    }

    function _notMember(address account) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(IMemberRegistry.NotAMember.selector, account);
    }

    function _locked(uint256 noteId, uint32 lien) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(IReceivableNotes.NoteIsLocked.selector, noteId, lien);
    }

    // ================================================================== issue

    function test_issue_createsSlotAndFirstNote() public {
        uint64 maturity = _maturity();
        vm.expectEmit(address(notes));
        emit IERC721.Transfer(address(0), supplier, 1);
        vm.expectEmit(address(notes));
        emit IERC3525.SlotChanged(1, 0, 1);
        vm.expectEmit(address(notes));
        emit IERC3525.TransferValue(0, 1, FACE);
        vm.expectEmit(address(notes));
        emit IReceivableNotes.ReceivableIssued(1, coreId, supplierId, 1, FACE, address(cash), maturity, INV, 0);
        vm.prank(core);
        (uint256 slotId, uint256 noteId) = notes.issue(supplier, FACE, address(cash), maturity, INV);

        assertEq(slotId, 1);
        assertEq(noteId, 1);
        IReceivableNotes.Receivable memory r = notes.receivable(slotId);
        assertEq(r.obligorId, coreId);
        assertEq(r.creditorId, supplierId);
        assertEq(uint8(r.status), uint8(IReceivableNotes.SlotStatus.Active));
        assertEq(r.liveNotes, 1);
        assertEq(r.issuedAt, block.timestamp);
        assertEq(r.maturity, maturity);
        assertEq(r.faceValue, FACE);
        assertEq(r.cashToken, address(cash));
        assertEq(r.invoiceHash, INV);
        assertEq(r.orderId, 0);

        IReceivableNotes.Note memory n = notes.note(noteId);
        assertEq(n.holderId, supplierId);
        assertEq(n.lienholderId, 0);
        assertEq(n.slotId, slotId);
        assertEq(n.value, FACE);
        assertEq(n.parentId, 0);

        assertEq(notes.balanceOf(noteId), FACE);
        assertEq(notes.slotOf(noteId), slotId);
        assertEq(notes.ownerOf(noteId), supplier);
        assertEq(notes.balanceOf(supplier), 1);
        assertEq(notes.slotOfInvoice(INV), slotId);
        assertEq(notes.firstNoteOf(slotId), noteId);
        assertEq(notes.slotCount(), 1);
        assertEq(notes.noteCount(), 1);
        assertEq(notes.parentOf(noteId), 0);
        assertEq(notes.slotOfOrder(0), 0);
        assertEq(registry.member(coreId).outstanding, FACE);
    }

    function test_issue_secondSlotGetsNextIds() public {
        _issue();
        _split(supplier, 1, bank, 10_000_00); // note 2
        (uint256 slotId, uint256 noteId) = _issue(supplier2, 5_000_00, INV2);
        assertEq(slotId, 2);
        assertEq(noteId, 3);
        assertEq(notes.firstNoteOf(2), 3);
        assertEq(notes.slotCount(), 2);
        assertEq(notes.noteCount(), 3);
        assertEq(notes.ownerOf(3), supplier2);
        assertEq(registry.member(coreId).outstanding, FACE + 5_000_00);
    }

    function test_issue_acceptsUint96MaxFaceValue() public {
        vm.prank(operator);
        registry.setCreditLimit(coreId, type(uint128).max);
        (uint256 slotId, uint256 noteId) = _issue(supplier, type(uint96).max, INV);
        assertEq(notes.balanceOf(noteId), type(uint96).max);
        assertEq(notes.receivable(slotId).faceValue, type(uint96).max);
    }

    function test_issue_acceptsMaturityBounds() public {
        vm.startPrank(core);
        (uint256 s1,) = notes.issue(supplier, FACE, address(cash), uint64(block.timestamp + 1), INV);
        (uint256 s2,) = notes.issue(supplier, FACE, address(cash), uint64(block.timestamp + 365 days), INV2);
        vm.stopPrank();
        assertEq(notes.receivable(s1).maturity, block.timestamp + 1);
        assertEq(notes.receivable(s2).maturity, block.timestamp + 365 days);
    }

    function test_issue_revertsWhenCallerNotCoreEnterprise() public {
        vm.expectRevert(_missingRole(supplier, Roles.CORE_ENTERPRISE, Roles.SUPPLIER));
        vm.prank(supplier);
        notes.issue(supplier2, FACE, address(cash), _maturity(), INV);
        vm.expectRevert(_missingRole(bank, Roles.CORE_ENTERPRISE, Roles.FINANCIER));
        vm.prank(bank);
        notes.issue(supplier2, FACE, address(cash), _maturity(), INV);
    }

    function test_issue_revertsWhenCallerNotMember() public {
        vm.expectRevert(_notMember(outsider));
        vm.prank(outsider);
        notes.issue(supplier, FACE, address(cash), _maturity(), INV);
    }

    function test_issue_revertsWhenCallerSuspended() public {
        _suspend(core2Id);
        vm.expectRevert(_notActive(core2));
        vm.prank(core2);
        notes.issue(supplier, FACE, address(cash), _maturity(), INV);
    }

    function test_issue_revertsWhenCreditorIsObligor() public {
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.InvalidRecipient.selector, core));
        vm.prank(core);
        notes.issue(core, FACE, address(cash), _maturity(), INV);
    }

    function test_issue_revertsWhenCreditorOutsider() public {
        vm.expectRevert(_notMember(outsider));
        vm.prank(core);
        notes.issue(outsider, FACE, address(cash), _maturity(), INV);
    }

    function test_issue_revertsWhenCreditorAuditor() public {
        vm.expectRevert(_missingRole(auditor, Roles.HOLDER, Roles.AUDITOR));
        vm.prank(core);
        notes.issue(auditor, FACE, address(cash), _maturity(), INV);
    }

    function test_issue_revertsWhenCreditorSuspended() public {
        vm.expectRevert(_notActive(suspended));
        vm.prank(core);
        notes.issue(suspended, FACE, address(cash), _maturity(), INV);
    }

    function test_issue_revertsOnZeroFaceValue() public {
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.InvalidFaceValue.selector, 0));
        vm.prank(core);
        notes.issue(supplier, 0, address(cash), _maturity(), INV);
    }

    function test_issue_revertsOnFaceValueAboveUint96() public {
        vm.prank(operator);
        registry.setCreditLimit(coreId, type(uint128).max);
        uint128 face = uint128(type(uint96).max) + 1;
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.InvalidFaceValue.selector, face));
        vm.prank(core);
        notes.issue(supplier, face, address(cash), _maturity(), INV);
    }

    function test_issue_revertsOnZeroCashToken() public {
        vm.expectRevert(LedgerAccess.ZeroAddress.selector);
        vm.prank(core);
        notes.issue(supplier, FACE, address(0), _maturity(), INV);
    }

    function test_issue_revertsOnZeroInvoiceHash() public {
        vm.expectRevert(IReceivableNotes.ZeroInvoiceHash.selector);
        vm.prank(core);
        notes.issue(supplier, FACE, address(cash), _maturity(), bytes32(0));
    }

    function test_issue_revertsWhenInvoiceAlreadyTokenisedSameSupplier() public {
        _issue();
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.InvoiceAlreadyTokenised.selector, INV, 1));
        vm.prank(core);
        notes.issue(supplier, FACE, address(cash), _maturity(), INV);
    }

    function test_issue_revertsWhenInvoiceAlreadyTokenisedOtherSupplierOrObligor() public {
        _issue();
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.InvoiceAlreadyTokenised.selector, INV, 1));
        vm.prank(core);
        notes.issue(supplier2, 1_00, address(cash), _maturity(), INV);
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.InvoiceAlreadyTokenised.selector, INV, 1));
        vm.prank(core2);
        notes.issue(supplier2, 1_00, address(cash), _maturity(), INV);
    }

    function test_issue_revertsOnPastMaturity() public {
        uint64 m = uint64(block.timestamp - 1);
        uint64 earliest = uint64(block.timestamp + 1);
        uint64 latest = uint64(block.timestamp + 365 days);
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.InvalidMaturity.selector, m, earliest, latest));
        vm.prank(core);
        notes.issue(supplier, FACE, address(cash), m, INV);
    }

    function test_issue_revertsOnMaturityNow() public {
        uint64 m = uint64(block.timestamp);
        vm.expectRevert(
            abi.encodeWithSelector(
                IReceivableNotes.InvalidMaturity.selector, m, m + 1, uint64(block.timestamp + 365 days)
            )
        );
        vm.prank(core);
        notes.issue(supplier, FACE, address(cash), m, INV);
    }

    function test_issue_revertsOnMaturityBeyondMaxTenor() public {
        uint64 latest = uint64(block.timestamp + 365 days);
        vm.expectRevert(
            abi.encodeWithSelector(
                IReceivableNotes.InvalidMaturity.selector, latest + 1, uint64(block.timestamp + 1), latest
            )
        );
        vm.prank(core);
        notes.issue(supplier, FACE, address(cash), latest + 1, INV);
    }

    function test_issue_maxTenorFollowsPolicy() public {
        vm.prank(operator);
        notes.setPolicy(100, 500, 30 days);
        uint64 latest = uint64(block.timestamp + 30 days);
        vm.expectRevert(
            abi.encodeWithSelector(
                IReceivableNotes.InvalidMaturity.selector, latest + 1, uint64(block.timestamp + 1), latest
            )
        );
        vm.prank(core);
        notes.issue(supplier, FACE, address(cash), latest + 1, INV);
    }

    function test_issue_revertsWhenCreditLimitExceeded() public {
        _issue();
        uint128 face = CREDIT - FACE + 1;
        vm.expectRevert(
            abi.encodeWithSelector(IMemberRegistry.CreditLimitExceeded.selector, coreId, FACE, face, CREDIT)
        );
        vm.prank(core);
        notes.issue(supplier, face, address(cash), _maturity(), INV2);
        // exactly up to the limit is fine
        _issue(supplier, CREDIT - FACE, INV2);
        assertEq(registry.member(coreId).outstanding, CREDIT);
    }

    function test_issue_revertsWhenObligorBlockedByDefault() public {
        vm.prank(address(settlement));
        registry.recordDefault(coreId, 0);
        vm.expectRevert(abi.encodeWithSelector(IMemberRegistry.IssuanceBlockedByDefault.selector, coreId, 1));
        vm.prank(core);
        notes.issue(supplier, FACE, address(cash), _maturity(), INV);
        // another obligor is unaffected
        vm.prank(core2);
        notes.issue(supplier, FACE, address(cash), _maturity(), INV);
    }

    function test_issue_revertsWhenPaused() public {
        _pause();
        vm.expectRevert(LedgerAccess.EnforcedPause.selector);
        vm.prank(core);
        notes.issue(supplier, FACE, address(cash), _maturity(), INV);
    }

    // ================================================================== split

    function test_split_createsNoteInSameSlot() public {
        (uint256 slotId, uint256 noteId) = _issue();
        uint256 v = 30_000_00;
        vm.expectEmit(address(notes));
        emit IERC721.Transfer(address(0), bank, 2);
        vm.expectEmit(address(notes));
        emit IERC3525.SlotChanged(2, 0, slotId);
        vm.expectEmit(address(notes));
        emit IERC3525.TransferValue(noteId, 2, v);
        vm.expectEmit(address(notes));
        emit IReceivableNotes.NoteSplit(noteId, 2, slotId, v);
        uint256 newId = _split(supplier, noteId, bank, v);

        assertEq(newId, 2);
        assertEq(notes.parentOf(newId), noteId);
        assertEq(notes.balanceOf(noteId), FACE - v);
        assertEq(notes.balanceOf(newId), v);
        assertEq(notes.slotOf(newId), slotId);
        assertEq(notes.ownerOf(newId), bank);
        assertEq(notes.receivable(slotId).liveNotes, 2);
        assertEq(notes.noteCount(), 2);
        assertEq(notes.balanceOf(bank), 1);
        assertEq(notes.balanceOf(supplier), 1);
        IReceivableNotes.Note memory n = notes.note(newId);
        assertEq(n.holderId, bankId);
        assertEq(n.lienholderId, 0);
        assertEq(n.parentId, noteId);
        assertEq(notes.getApproved(newId), address(0));
    }

    function test_split_ofChildRecordsLineage() public {
        (, uint256 noteId) = _issue();
        uint256 child = _split(supplier, noteId, bank, 30_000_00);
        uint256 grandChild = _split(bank, child, bank2, 10_000_00);
        assertEq(notes.parentOf(grandChild), child);
        assertEq(notes.parentOf(child), noteId);
        assertEq(notes.balanceOf(child), 20_000_00);
    }

    function test_split_wholeValueBurnsTheSource() public {
        (uint256 slotId, uint256 noteId) = _issue();
        uint256 newId = _split(supplier, noteId, bank, FACE);
        assertEq(notes.balanceOf(newId), FACE);
        assertEq(notes.receivable(slotId).liveNotes, 1);
        assertEq(notes.balanceOf(supplier), 0);
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.UnknownNote.selector, noteId));
        notes.ownerOf(noteId);
    }

    function test_split_toSelfCreatesNewNote() public {
        (, uint256 noteId) = _issue();
        uint256 newId = _split(supplier, noteId, supplier, 1_000_00);
        assertEq(notes.ownerOf(newId), supplier);
        assertEq(notes.balanceOf(supplier), 2);
    }

    function test_split_minimumBoundariesAccepted() public {
        (, uint256 noteId) = _issue(supplier, 300, INV);
        uint256 a = _split(supplier, noteId, bank, MIN); // remainder 200
        uint256 b = _split(supplier, noteId, bank, MIN); // remainder exactly the minimum
        assertEq(notes.balanceOf(noteId), MIN);
        assertEq(notes.balanceOf(a), MIN);
        assertEq(notes.balanceOf(b), MIN);
    }

    function test_split_byValueAllowanceSpendsAllowance() public {
        (, uint256 noteId) = _issue();
        vm.expectEmit(address(notes));
        emit IERC3525.ApprovalValue(noteId, bank, 30_000_00);
        vm.prank(supplier);
        notes.approve(noteId, bank, 30_000_00);
        assertEq(notes.allowance(noteId, bank), 30_000_00);

        uint256 newId = _split(bank, noteId, bank, 10_000_00);
        assertEq(notes.allowance(noteId, bank), 20_000_00);
        assertEq(notes.ownerOf(newId), bank);
        assertEq(notes.balanceOf(noteId), FACE - 10_000_00);

        _split(bank, noteId, bank2, 20_000_00); // spend the rest exactly
        assertEq(notes.allowance(noteId, bank), 0);
        vm.expectRevert(abi.encodeWithSelector(IMemberHoldings.NotApproved.selector, noteId, bank));
        vm.prank(bank);
        notes.transferFrom(noteId, bank, 1_00);
    }

    function test_split_unlimitedAllowanceIsNotSpent() public {
        (, uint256 noteId) = _issue();
        vm.prank(supplier);
        notes.approve(noteId, bank, type(uint256).max);
        _split(bank, noteId, bank, 10_000_00);
        assertEq(notes.allowance(noteId, bank), type(uint256).max);
    }

    function test_split_revertsOnInsufficientAllowance() public {
        (, uint256 noteId) = _issue();
        vm.prank(supplier);
        notes.approve(noteId, bank, 100_00);
        vm.expectRevert(
            abi.encodeWithSelector(IReceivableNotes.InsufficientAllowance.selector, noteId, bank, 100_00, 200_00)
        );
        vm.prank(bank);
        notes.transferFrom(noteId, bank, 200_00);
    }

    function test_split_revertsWhenNotApproved() public {
        (, uint256 noteId) = _issue();
        vm.expectRevert(abi.encodeWithSelector(IMemberHoldings.NotApproved.selector, noteId, bank));
        vm.prank(bank);
        notes.transferFrom(noteId, bank, 1_000_00);
        vm.expectRevert(abi.encodeWithSelector(IMemberHoldings.NotApproved.selector, noteId, outsider));
        vm.prank(outsider);
        notes.transferFrom(noteId, bank, 1_000_00);
    }

    function test_split_byTokenApprovedOperator() public {
        (, uint256 noteId) = _issue();
        vm.prank(supplier);
        notes.approve(bank, noteId);
        uint256 newId = _split(bank, noteId, bank2, 10_000_00);
        assertEq(notes.ownerOf(newId), bank2);
        assertEq(notes.balanceOf(noteId), FACE - 10_000_00);
        assertEq(notes.allowance(noteId, bank), 0);
        assertEq(notes.getApproved(noteId), bank); // split does not void the approval
    }

    function test_split_byApprovedForAllOperator() public {
        (, uint256 noteId) = _issue();
        vm.prank(supplier);
        notes.setApprovalForAll(bank, true);
        uint256 newId = _split(bank, noteId, bank, 10_000_00);
        assertEq(notes.ownerOf(newId), bank);
        vm.prank(supplier);
        notes.setApprovalForAll(bank, false);
        vm.expectRevert(abi.encodeWithSelector(IMemberHoldings.NotApproved.selector, noteId, bank));
        vm.prank(bank);
        notes.transferFrom(noteId, bank, 10_000_00);
    }

    function test_split_revertsToOutsider() public {
        (, uint256 noteId) = _issue();
        vm.expectRevert(_notMember(outsider));
        _split(supplier, noteId, outsider, 1_000_00);
    }

    function test_split_revertsToSuspended() public {
        (, uint256 noteId) = _issue();
        vm.expectRevert(_notActive(suspended));
        _split(supplier, noteId, suspended, 1_000_00);
    }

    function test_split_revertsToAuditor() public {
        (, uint256 noteId) = _issue();
        vm.expectRevert(_missingRole(auditor, Roles.HOLDER, Roles.AUDITOR));
        _split(supplier, noteId, auditor, 1_000_00);
    }

    function test_split_revertsWhenHolderSuspended() public {
        (, uint256 noteId) = _issue();
        _suspend(supplierId);
        vm.expectRevert(_notActive(supplier));
        _split(supplier, noteId, bank, 1_000_00);
    }

    function test_split_revertsOnZeroValue() public {
        (, uint256 noteId) = _issue();
        vm.expectRevert(IReceivableNotes.ZeroValue.selector);
        _split(supplier, noteId, bank, 0);
    }

    function test_split_revertsOnInsufficientValue() public {
        (, uint256 noteId) = _issue();
        vm.expectRevert(
            abi.encodeWithSelector(IReceivableNotes.InsufficientValue.selector, noteId, FACE, uint256(FACE) + 1)
        );
        _split(supplier, noteId, bank, uint256(FACE) + 1);
    }

    function test_split_revertsWhenNewNoteBelowMinimum() public {
        (, uint256 noteId) = _issue();
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.ValueBelowMinimum.selector, PER - 1, PER));
        _split(supplier, noteId, bank, PER - 1);
    }

    function test_split_revertsWhenRemainderBelowMinimum() public {
        (, uint256 noteId) = _issue();
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.ValueBelowMinimum.selector, PER - 1, PER));
        _split(supplier, noteId, bank, FACE - (PER - 1));
    }

    function test_split_minimumFollowsPolicy() public {
        (, uint256 noteId) = _issue();
        vm.prank(operator);
        notes.setPolicy(1_000_00, 500, 365 days);
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.ValueBelowMinimum.selector, 999_99, 1_000_00));
        _split(supplier, noteId, bank, 999_99);
        _split(supplier, noteId, bank, 1_000_00);
    }

    function test_split_revertsWhenTooManyLiveNotes() public {
        (uint256 slotId, uint256 noteId) = _issue();
        _split(supplier, noteId, bank, 1_000_00);
        vm.prank(operator);
        notes.setPolicy(100, 2, 365 days);
        assertEq(notes.receivable(slotId).liveNotes, 2);
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.TooManyLiveNotes.selector, slotId, 2));
        _split(supplier, noteId, bank, FACE - 1_000_00);
    }

    function test_split_liveNoteCapFreedByBurn() public {
        (uint256 slotId, uint256 noteId) = _issue();
        uint256 child = _split(supplier, noteId, bank, 1_000_00);
        vm.prank(operator);
        notes.setPolicy(100, 2, 365 days); // the minimum is now face / 2: only whole-value splits pass it
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.TooManyLiveNotes.selector, slotId, 2));
        _split(supplier, noteId, bank, FACE - 1_000_00);
        vm.prank(address(settlement));
        notes.burnForSettlement(child, slotId);
        uint256 moved = _split(supplier, noteId, bank, FACE - 1_000_00);
        assertEq(notes.receivable(slotId).liveNotes, 1);
        assertEq(notes.ownerOf(moved), bank);
    }

    function test_split_revertsAtMaturity() public {
        (uint256 slotId, uint256 noteId) = _issue();
        uint64 maturity = notes.receivable(slotId).maturity;
        vm.warp(maturity - 1);
        _split(supplier, noteId, bank, 1_000_00); // still movable one second before
        vm.warp(maturity);
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.SlotMatured.selector, slotId, maturity));
        _split(supplier, noteId, bank, 1_000_00);
    }

    function test_split_revertsWhenLocked() public {
        (, uint256 noteId) = _issue();
        _lock(noteId, bank);
        vm.expectRevert(_locked(noteId, bankId));
        _split(supplier, noteId, bank2, 1_000_00);
    }

    function test_split_revertsOnUnknownNote() public {
        _issue();
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.UnknownNote.selector, 99));
        _split(supplier, 99, bank, 1_000_00);
    }

    function test_split_revertsWhenPaused() public {
        (, uint256 noteId) = _issue();
        _pause();
        vm.expectRevert(LedgerAccess.EnforcedPause.selector);
        _split(supplier, noteId, bank, 1_000_00);
    }

    function test_split_revertsOnSettledSlot() public {
        (uint256 slotId, uint256 noteId) = _issue();
        vm.prank(address(settlement));
        notes.setSlotStatus(slotId, IReceivableNotes.SlotStatus.Settled);
        vm.expectRevert(
            abi.encodeWithSelector(
                IReceivableNotes.SlotNotActive.selector, slotId, IReceivableNotes.SlotStatus.Settled
            )
        );
        _split(supplier, noteId, bank, 1_000_00);
    }

    // ================================================================== merge / value move

    function test_merge_movesValueBetweenOwnNotes() public {
        (uint256 slotId, uint256 noteId) = _issue();
        uint256 other = _split(supplier, noteId, supplier, 30_000_00);
        vm.expectEmit(address(notes));
        emit IERC3525.TransferValue(other, noteId, 10_000_00);
        vm.prank(supplier);
        notes.transferFrom(other, noteId, 10_000_00);
        assertEq(notes.balanceOf(other), 20_000_00);
        assertEq(notes.balanceOf(noteId), FACE - 20_000_00);
        assertEq(notes.balanceOf(supplier), 2);
        assertEq(notes.receivable(slotId).liveNotes, 2);

        // move everything back: the emptied note is burned (S-3)
        vm.prank(supplier);
        notes.transferFrom(other, noteId, 20_000_00);
        (, bool exists) = _valueOf(other);
        assertFalse(exists);
        assertEq(notes.balanceOf(noteId), FACE);
        assertEq(notes.balanceOf(supplier), 1);
        assertEq(notes.receivable(slotId).liveNotes, 1);
    }

    function test_merge_movesValueToAnotherHoldersNote() public {
        (, uint256 noteId) = _issue();
        uint256 bankNote = _split(supplier, noteId, bank, 30_000_00);
        vm.prank(supplier);
        notes.transferFrom(noteId, bankNote, 5_000_00);
        assertEq(notes.balanceOf(bankNote), 35_000_00);
        assertEq(notes.balanceOf(noteId), FACE - 35_000_00);
        assertEq(notes.ownerOf(bankNote), bank);
    }

    function test_merge_belowMinimumAllowed() public {
        (, uint256 noteId) = _issue();
        uint256 other = _split(supplier, noteId, supplier, 1_000_00);
        vm.prank(supplier);
        notes.transferFrom(noteId, other, 1);
        assertEq(notes.balanceOf(other), 1_000_01);
    }

    function test_merge_byValueAllowanceSpends() public {
        (, uint256 noteId) = _issue();
        uint256 bankNote = _split(supplier, noteId, bank, 30_000_00);
        vm.prank(supplier);
        notes.approve(noteId, bank, 5_000_00);
        vm.prank(bank);
        notes.transferFrom(noteId, bankNote, 2_000_00);
        assertEq(notes.allowance(noteId, bank), 3_000_00);
        assertEq(notes.balanceOf(bankNote), 32_000_00);
        vm.expectRevert(
            abi.encodeWithSelector(IReceivableNotes.InsufficientAllowance.selector, noteId, bank, 3_000_00, 4_000_00)
        );
        vm.prank(bank);
        notes.transferFrom(noteId, bankNote, 4_000_00);
    }

    function test_merge_revertsWhenNotApproved() public {
        (, uint256 noteId) = _issue();
        uint256 bankNote = _split(supplier, noteId, bank, 30_000_00);
        vm.expectRevert(abi.encodeWithSelector(IMemberHoldings.NotApproved.selector, noteId, bank));
        vm.prank(bank);
        notes.transferFrom(noteId, bankNote, 1_000_00);
    }

    function test_merge_revertsOnSelfTransfer() public {
        (, uint256 noteId) = _issue();
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.SelfTransfer.selector, noteId));
        vm.prank(supplier);
        notes.transferFrom(noteId, noteId, 1_000_00);
    }

    function test_merge_revertsOnSlotMismatch() public {
        (, uint256 a) = _issue();
        (, uint256 b) = _issue(supplier, FACE, INV2);
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.SlotMismatch.selector, a, b));
        vm.prank(supplier);
        notes.transferFrom(a, b, 1_000_00);
    }

    function test_merge_revertsOnUnknownNotes() public {
        (, uint256 noteId) = _issue();
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.UnknownNote.selector, 99));
        vm.prank(supplier);
        notes.transferFrom(noteId, 99, 1_000_00);
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.UnknownNote.selector, 99));
        vm.prank(supplier);
        notes.transferFrom(99, noteId, 1_000_00);
    }

    function test_merge_revertsWhenSourceLocked() public {
        (, uint256 noteId) = _issue();
        uint256 other = _split(supplier, noteId, supplier, 30_000_00);
        _lock(noteId, bank);
        vm.expectRevert(_locked(noteId, bankId));
        vm.prank(supplier);
        notes.transferFrom(noteId, other, 1_000_00);
    }

    function test_merge_revertsWhenTargetLocked() public {
        (, uint256 noteId) = _issue();
        uint256 other = _split(supplier, noteId, supplier, 30_000_00);
        _lock(other, bank2);
        vm.expectRevert(_locked(other, bank2Id));
        vm.prank(supplier);
        notes.transferFrom(noteId, other, 1_000_00);
    }

    function test_merge_revertsWhenTargetHolderSuspended() public {
        (, uint256 noteId) = _issue();
        uint256 other = _split(supplier, noteId, supplier2, 30_000_00);
        _suspend(supplier2Id);
        vm.expectRevert(_notActive(supplier2));
        vm.prank(supplier);
        notes.transferFrom(noteId, other, 1_000_00);
    }

    function test_merge_revertsAfterMaturity() public {
        (uint256 slotId, uint256 noteId) = _issue();
        uint256 other = _split(supplier, noteId, supplier, 30_000_00);
        uint64 maturity = notes.receivable(slotId).maturity;
        vm.warp(maturity);
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.SlotMatured.selector, slotId, maturity));
        vm.prank(supplier);
        notes.transferFrom(other, noteId, 1_000_00);
    }

    function test_merge_revertsOnZeroValue() public {
        (, uint256 noteId) = _issue();
        uint256 other = _split(supplier, noteId, supplier, 30_000_00);
        vm.expectRevert(IReceivableNotes.ZeroValue.selector);
        vm.prank(supplier);
        notes.transferFrom(other, noteId, 0);
    }

    function test_merge_revertsOnInsufficientValue() public {
        (, uint256 noteId) = _issue();
        uint256 other = _split(supplier, noteId, supplier, 30_000_00);
        vm.expectRevert(
            abi.encodeWithSelector(IReceivableNotes.InsufficientValue.selector, other, 30_000_00, 30_000_01)
        );
        vm.prank(supplier);
        notes.transferFrom(other, noteId, 30_000_01);
    }

    function test_merge_revertsWhenPaused() public {
        (, uint256 noteId) = _issue();
        uint256 other = _split(supplier, noteId, supplier, 30_000_00);
        _pause();
        vm.expectRevert(LedgerAccess.EnforcedPause.selector);
        vm.prank(supplier);
        notes.transferFrom(other, noteId, 1_000_00);
    }

    // ================================================================== ERC-721 whole transfers

    function test_transferFrom_movesWholeNote() public {
        (, uint256 noteId) = _issue();
        vm.expectEmit(address(notes));
        emit IERC721.Transfer(supplier, bank, noteId);
        vm.prank(supplier);
        notes.transferFrom(supplier, bank, noteId);
        assertEq(notes.ownerOf(noteId), bank);
        assertEq(notes.balanceOf(supplier), 0);
        assertEq(notes.balanceOf(bank), 1);
        assertEq(notes.balanceOf(noteId), FACE);
        assertEq(notes.note(noteId).holderId, bankId);
        // the new holder can move it on
        vm.prank(bank);
        notes.transferFrom(bank, bank2, noteId);
        assertEq(notes.ownerOf(noteId), bank2);
    }

    function test_transferFrom_countsNotesPerHolder() public {
        (, uint256 noteId) = _issue();
        uint256 a = _split(supplier, noteId, supplier, 10_000_00);
        _split(supplier, noteId, supplier, 10_000_00);
        assertEq(notes.balanceOf(supplier), 3);
        vm.prank(supplier);
        notes.transferFrom(supplier, bank, a);
        assertEq(notes.balanceOf(supplier), 2);
        assertEq(notes.balanceOf(bank), 1);
    }

    function test_safeTransferFrom_movesWholeNote() public {
        (, uint256 noteId) = _issue();
        vm.expectEmit(address(notes));
        emit IERC721.Transfer(supplier, bank, noteId);
        vm.prank(supplier);
        notes.safeTransferFrom(supplier, bank, noteId);
        assertEq(notes.ownerOf(noteId), bank);
        vm.prank(bank);
        notes.safeTransferFrom(bank, bank2, noteId, "data");
        assertEq(notes.ownerOf(noteId), bank2);
        assertEq(notes.balanceOf(bank), 0);
        assertEq(notes.balanceOf(bank2), 1);
    }

    function test_transferFrom_byTokenApprovedOperator() public {
        (, uint256 noteId) = _issue();
        vm.prank(supplier);
        notes.approve(bank, noteId);
        vm.prank(bank);
        notes.transferFrom(supplier, bank2, noteId);
        assertEq(notes.ownerOf(noteId), bank2);
    }

    function test_transferFrom_byApprovedForAllOperator() public {
        (, uint256 noteId) = _issue();
        vm.prank(supplier);
        notes.setApprovalForAll(outsider, true);
        vm.prank(outsider);
        notes.transferFrom(supplier, bank, noteId);
        assertEq(notes.ownerOf(noteId), bank);
    }

    function test_transferFrom_revertsWhenFromNotHolder() public {
        (, uint256 noteId) = _issue();
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.NotNoteHolder.selector, noteId, supplier2));
        vm.prank(supplier);
        notes.transferFrom(supplier2, bank, noteId);
    }

    function test_transferFrom_revertsWhenNotApproved() public {
        (, uint256 noteId) = _issue();
        vm.expectRevert(abi.encodeWithSelector(IMemberHoldings.NotApproved.selector, noteId, bank));
        vm.prank(bank);
        notes.transferFrom(supplier, bank, noteId);
    }

    function test_transferFrom_valueAllowanceDoesNotAuthoriseWholeTransfer() public {
        (, uint256 noteId) = _issue();
        vm.prank(supplier);
        notes.approve(noteId, bank, type(uint256).max);
        vm.expectRevert(abi.encodeWithSelector(IMemberHoldings.NotApproved.selector, noteId, bank));
        vm.prank(bank);
        notes.transferFrom(supplier, bank, noteId);
    }

    function test_transferFrom_revertsOnSelfTransfer() public {
        (, uint256 noteId) = _issue();
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.SelfTransfer.selector, noteId));
        vm.prank(supplier);
        notes.transferFrom(supplier, supplier, noteId);
    }

    function test_transferFrom_revertsWhenLocked() public {
        (, uint256 noteId) = _issue();
        _lock(noteId, bank);
        vm.expectRevert(_locked(noteId, bankId));
        vm.prank(supplier);
        notes.transferFrom(supplier, bank2, noteId);
    }

    function test_transferFrom_revertsAfterMaturity() public {
        (uint256 slotId, uint256 noteId) = _issue();
        uint64 maturity = notes.receivable(slotId).maturity;
        vm.warp(maturity + 1);
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.SlotMatured.selector, slotId, maturity));
        vm.prank(supplier);
        notes.transferFrom(supplier, bank, noteId);
    }

    function test_transferFrom_revertsToNonHolders() public {
        (, uint256 noteId) = _issue();
        vm.expectRevert(_notMember(outsider));
        vm.prank(supplier);
        notes.transferFrom(supplier, outsider, noteId);
        vm.expectRevert(_notActive(suspended));
        vm.prank(supplier);
        notes.transferFrom(supplier, suspended, noteId);
        vm.expectRevert(_missingRole(auditor, Roles.HOLDER, Roles.AUDITOR));
        vm.prank(supplier);
        notes.transferFrom(supplier, auditor, noteId);
    }

    function test_transferFrom_revertsWhenPaused() public {
        (, uint256 noteId) = _issue();
        _pause();
        vm.expectRevert(LedgerAccess.EnforcedPause.selector);
        vm.prank(supplier);
        notes.transferFrom(supplier, bank, noteId);
        vm.expectRevert(LedgerAccess.EnforcedPause.selector);
        vm.prank(supplier);
        notes.safeTransferFrom(supplier, bank, noteId);
    }

    function test_transferFrom_voidsApprovals() public {
        (, uint256 noteId) = _issue();
        vm.startPrank(supplier);
        notes.approve(bank2, noteId);
        notes.approve(noteId, core2, 5_000_00);
        vm.stopPrank();
        assertEq(notes.getApproved(noteId), bank2);
        assertEq(notes.allowance(noteId, core2), 5_000_00);

        vm.prank(supplier);
        notes.transferFrom(supplier, bank, noteId);
        assertEq(notes.getApproved(noteId), address(0));
        assertEq(notes.allowance(noteId, core2), 0);

        vm.expectRevert(abi.encodeWithSelector(IMemberHoldings.NotApproved.selector, noteId, bank2));
        vm.prank(bank2);
        notes.transferFrom(bank, bank2, noteId);
        vm.expectRevert(abi.encodeWithSelector(IMemberHoldings.NotApproved.selector, noteId, core2));
        vm.prank(core2);
        notes.transferFrom(noteId, core2, 1_000_00);

        // returning the note to the old holder does not revive old approvals
        vm.prank(bank);
        notes.transferFrom(bank, supplier, noteId);
        assertEq(notes.getApproved(noteId), address(0));
        assertEq(notes.allowance(noteId, core2), 0);

        // new approvals work in the new epoch
        vm.prank(supplier);
        notes.approve(noteId, core2, 1_000_00);
        assertEq(notes.allowance(noteId, core2), 1_000_00);
    }

    function test_transferFrom_keepsApprovalForAllOfOldHolder() public {
        (, uint256 noteId) = _issue();
        vm.prank(supplier);
        notes.setApprovalForAll(bank2, true);
        vm.prank(supplier);
        notes.transferFrom(supplier, bank, noteId);
        // the operator of the previous holder has no power over the note anymore
        vm.expectRevert(abi.encodeWithSelector(IMemberHoldings.NotApproved.selector, noteId, bank2));
        vm.prank(bank2);
        notes.transferFrom(bank, bank2, noteId);
    }

    function test_balanceOf_zeroAddressReverts() public {
        vm.expectRevert(LedgerAccess.ZeroAddress.selector);
        notes.balanceOf(address(0));
        assertEq(notes.balanceOf(outsider), 0);
    }

    function test_ownerOf_followsAccountRotation() public {
        (, uint256 noteId) = _issue();
        address fresh = makeAddr("supplier-new-key");
        _rotate(supplierId, fresh, _ids(noteId), _ids());
        assertEq(notes.ownerOf(noteId), fresh);
        assertEq(notes.balanceOf(fresh), 1);
        assertEq(notes.balanceOf(supplier), 0);
        vm.expectRevert(abi.encodeWithSelector(IMemberHoldings.NotApproved.selector, noteId, supplier));
        vm.prank(supplier);
        notes.transferFrom(noteId, bank, 1_000_00);
        _split(fresh, noteId, bank, 1_000_00);
    }

    // ================================================================== approvals

    function test_approve_tokenApproval() public {
        (, uint256 noteId) = _issue();
        vm.expectEmit(address(notes));
        emit IERC721.Approval(supplier, bank, noteId);
        vm.prank(supplier);
        notes.approve(bank, noteId);
        assertEq(notes.getApproved(noteId), bank);
        vm.prank(supplier);
        notes.approve(address(0), noteId);
        assertEq(notes.getApproved(noteId), address(0));
    }

    function test_approve_byApprovedForAllOperator() public {
        (, uint256 noteId) = _issue();
        vm.prank(supplier);
        notes.setApprovalForAll(bank, true);
        vm.expectEmit(address(notes));
        emit IERC721.Approval(supplier, bank2, noteId);
        vm.prank(bank);
        notes.approve(bank2, noteId);
        assertEq(notes.getApproved(noteId), bank2);
    }

    function test_approve_tokenRevertsForNonHolder() public {
        (, uint256 noteId) = _issue();
        vm.expectRevert(abi.encodeWithSelector(IMemberHoldings.NotApproved.selector, noteId, bank));
        vm.prank(bank);
        notes.approve(bank2, noteId);
        // a note-approved operator cannot re-approve
        vm.prank(supplier);
        notes.approve(bank, noteId);
        vm.expectRevert(abi.encodeWithSelector(IMemberHoldings.NotApproved.selector, noteId, bank));
        vm.prank(bank);
        notes.approve(bank2, noteId);
    }

    function test_approve_tokenRevertsToHolder() public {
        (, uint256 noteId) = _issue();
        vm.expectRevert(abi.encodeWithSelector(IMemberHoldings.ApprovalToHolder.selector, supplier));
        vm.prank(supplier);
        notes.approve(supplier, noteId);
    }

    function test_approve_tokenRevertsOnUnknownNoteAndPause() public {
        (, uint256 noteId) = _issue();
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.UnknownNote.selector, 99));
        vm.prank(supplier);
        notes.approve(bank, 99);
        _pause();
        vm.expectRevert(LedgerAccess.EnforcedPause.selector);
        vm.prank(supplier);
        notes.approve(bank, noteId);
    }

    function test_approve_valueByTokenApprovedOperator() public {
        (, uint256 noteId) = _issue();
        vm.prank(supplier);
        notes.approve(bank, noteId);
        vm.expectEmit(address(notes));
        emit IERC3525.ApprovalValue(noteId, bank2, 7_00);
        vm.prank(bank);
        notes.approve(noteId, bank2, 7_00);
        assertEq(notes.allowance(noteId, bank2), 7_00);
        // overwrite, not add
        vm.prank(supplier);
        notes.approve(noteId, bank2, 3_00);
        assertEq(notes.allowance(noteId, bank2), 3_00);
    }

    function test_approve_valueRevertsForNonHolder() public {
        (, uint256 noteId) = _issue();
        vm.expectRevert(abi.encodeWithSelector(IMemberHoldings.NotApproved.selector, noteId, bank));
        vm.prank(bank);
        notes.approve(noteId, bank2, 1_00);
    }

    function test_approve_valueRevertsToHolder() public {
        (, uint256 noteId) = _issue();
        vm.expectRevert(abi.encodeWithSelector(IMemberHoldings.ApprovalToHolder.selector, supplier));
        vm.prank(supplier);
        notes.approve(noteId, supplier, 1_00);
    }

    function test_approve_valueRevertsWhenPaused() public {
        (, uint256 noteId) = _issue();
        _pause();
        vm.expectRevert(LedgerAccess.EnforcedPause.selector);
        vm.prank(supplier);
        notes.approve(noteId, bank, 1_00);
    }

    function test_setApprovalForAll_setsAndClears() public {
        vm.expectEmit(address(notes));
        emit IERC721.ApprovalForAll(supplier, bank, true);
        vm.prank(supplier);
        notes.setApprovalForAll(bank, true);
        assertTrue(notes.isApprovedForAll(supplier, bank));
        assertFalse(notes.isApprovedForAll(supplier, bank2));
        assertFalse(notes.isApprovedForAll(outsider, bank));
        vm.expectEmit(address(notes));
        emit IERC721.ApprovalForAll(supplier, bank, false);
        vm.prank(supplier);
        notes.setApprovalForAll(bank, false);
        assertFalse(notes.isApprovedForAll(supplier, bank));
    }

    function test_setApprovalForAll_revertsToSelf() public {
        vm.expectRevert(abi.encodeWithSelector(IMemberHoldings.ApprovalToHolder.selector, supplier));
        vm.prank(supplier);
        notes.setApprovalForAll(supplier, true);
    }

    function test_setApprovalForAll_revertsForNonHolders() public {
        vm.expectRevert(_notMember(outsider));
        vm.prank(outsider);
        notes.setApprovalForAll(bank, true);
        vm.expectRevert(_missingRole(auditor, Roles.HOLDER, Roles.AUDITOR));
        vm.prank(auditor);
        notes.setApprovalForAll(bank, true);
        vm.expectRevert(_notActive(suspended));
        vm.prank(suspended);
        notes.setApprovalForAll(bank, true);
    }

    function test_setApprovalForAll_revertsWhenPaused() public {
        _pause();
        vm.expectRevert(LedgerAccess.EnforcedPause.selector);
        vm.prank(supplier);
        notes.setApprovalForAll(bank, true);
    }

    function test_getApproved_allowance_revertOnUnknownNote() public {
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.UnknownNote.selector, 5));
        notes.getApproved(5);
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.UnknownNote.selector, 5));
        notes.allowance(5, bank);
    }

    // ================================================================== lock / release

    function test_lock_locksToFinancier() public {
        (, uint256 noteId) = _issue();
        vm.expectEmit(address(notes));
        emit IReceivableNotes.NoteLocked(noteId, bankId);
        vm.prank(supplier);
        notes.lock(noteId, bank);
        assertEq(notes.lienholderOf(noteId), bankId);
        assertEq(notes.note(noteId).lienholderId, bankId);
    }

    function test_lock_revertsForNonHolder() public {
        (, uint256 noteId) = _issue();
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.NotNoteHolder.selector, noteId, bank));
        vm.prank(bank);
        notes.lock(noteId, bank);
        // even an approved operator cannot pledge
        vm.prank(supplier);
        notes.setApprovalForAll(bank2, true);
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.NotNoteHolder.selector, noteId, bank2));
        vm.prank(bank2);
        notes.lock(noteId, bank);
    }

    function test_lock_revertsWhenLienholderNotFinancier() public {
        (, uint256 noteId) = _issue();
        vm.expectRevert(_missingRole(supplier2, Roles.FINANCIER, Roles.SUPPLIER));
        vm.prank(supplier);
        notes.lock(noteId, supplier2);
        vm.expectRevert(_notMember(outsider));
        vm.prank(supplier);
        notes.lock(noteId, outsider);
    }

    function test_lock_revertsWhenLienholderSuspended() public {
        (, uint256 noteId) = _issue();
        _suspend(bankId);
        vm.expectRevert(_notActive(bank));
        vm.prank(supplier);
        notes.lock(noteId, bank);
    }

    function test_lock_revertsWhenFinancierLocksToItself() public {
        (, uint256 noteId) = _issue();
        uint256 bankNote = _split(supplier, noteId, bank, 10_000_00);
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.InvalidRecipient.selector, bank));
        vm.prank(bank);
        notes.lock(bankNote, bank);
    }

    function test_lock_revertsWhenAlreadyLocked() public {
        (, uint256 noteId) = _issue();
        _lock(noteId, bank);
        vm.expectRevert(_locked(noteId, bankId));
        vm.prank(supplier);
        notes.lock(noteId, bank2);
    }

    function test_lock_revertsAfterMaturity() public {
        (uint256 slotId, uint256 noteId) = _issue();
        uint64 maturity = notes.receivable(slotId).maturity;
        vm.warp(maturity);
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.SlotMatured.selector, slotId, maturity));
        vm.prank(supplier);
        notes.lock(noteId, bank);
    }

    function test_lock_revertsOnUnknownNoteAndPause() public {
        (, uint256 noteId) = _issue();
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.UnknownNote.selector, 42));
        vm.prank(supplier);
        notes.lock(42, bank);
        _pause();
        vm.expectRevert(LedgerAccess.EnforcedPause.selector);
        vm.prank(supplier);
        notes.lock(noteId, bank);
    }

    function test_release_byLienholder() public {
        (, uint256 noteId) = _issue();
        _lock(noteId, bank);
        vm.expectEmit(address(notes));
        emit IReceivableNotes.NoteReleased(noteId, bankId);
        vm.prank(bank);
        notes.release(noteId);
        assertEq(notes.lienholderOf(noteId), 0);
        _split(supplier, noteId, bank2, 1_000_00); // movable again
    }

    function test_release_afterMaturityAllowed() public {
        (uint256 slotId, uint256 noteId) = _issue();
        _lock(noteId, bank);
        vm.warp(notes.receivable(slotId).maturity + 1);
        vm.prank(bank);
        notes.release(noteId);
        assertEq(notes.lienholderOf(noteId), 0);
    }

    function test_release_revertsForNonLienholder() public {
        (, uint256 noteId) = _issue();
        _lock(noteId, bank);
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.NotLienholder.selector, noteId, supplier));
        vm.prank(supplier);
        notes.release(noteId);
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.NotLienholder.selector, noteId, bank2));
        vm.prank(bank2);
        notes.release(noteId);
    }

    function test_release_revertsWhenNotLocked() public {
        (, uint256 noteId) = _issue();
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.NoteNotLocked.selector, noteId));
        vm.prank(bank);
        notes.release(noteId);
    }

    function test_release_revertsWhenPaused() public {
        (, uint256 noteId) = _issue();
        _lock(noteId, bank);
        _pause();
        vm.expectRevert(LedgerAccess.EnforcedPause.selector);
        vm.prank(bank);
        notes.release(noteId);
    }

    // ================================================================== ledger hooks: access

    function test_ledgerHooks_revertForNonLedgerCaller() public {
        (uint256 slotId, uint256 noteId) = _issue();
        bytes memory err = abi.encodeWithSelector(LedgerAccess.NotLedgerContract.selector, operator);
        vm.startPrank(operator);
        vm.expectRevert(err);
        notes.issueForOrder(1, coreId, supplierId, 0, FACE, address(cash), _maturity(), INV2);
        vm.expectRevert(err);
        notes.ledgerSplit(noteId, bankId, 1_000_00, 0, false);
        vm.expectRevert(err);
        notes.ledgerTransfer(noteId, bankId, 0, false);
        vm.expectRevert(err);
        notes.ledgerLock(noteId, bankId);
        vm.expectRevert(err);
        notes.ledgerRelease(noteId);
        vm.expectRevert(err);
        notes.burnForSettlement(noteId, slotId);
        vm.expectRevert(err);
        notes.burnBatchForSettlement(slotId, _ids(noteId));
        vm.expectRevert(err);
        notes.setSlotStatus(slotId, IReceivableNotes.SlotStatus.Settled);
        vm.stopPrank();
        // a member is not a ledger contract either
        vm.expectRevert(abi.encodeWithSelector(LedgerAccess.NotLedgerContract.selector, supplier));
        vm.prank(supplier);
        notes.ledgerTransfer(noteId, bankId, 0, false);
    }

    function test_ledgerHooks_revertForDeregisteredContract() public {
        (, uint256 noteId) = _issue();
        vm.prank(operator);
        registry.setLedgerContract(address(financing), false);
        vm.expectRevert(abi.encodeWithSelector(LedgerAccess.NotLedgerContract.selector, address(financing)));
        vm.prank(address(financing));
        notes.ledgerLock(noteId, bankId);
    }

    function test_ledgerHooks_revertWhenPaused() public {
        (uint256 slotId, uint256 noteId) = _issue();
        _pause();
        vm.startPrank(address(financing));
        vm.expectRevert(LedgerAccess.EnforcedPause.selector);
        notes.issueForOrder(1, coreId, supplierId, 0, FACE, address(cash), _maturity(), INV2);
        vm.expectRevert(LedgerAccess.EnforcedPause.selector);
        notes.ledgerSplit(noteId, bankId, 1_000_00, 0, false);
        vm.expectRevert(LedgerAccess.EnforcedPause.selector);
        notes.ledgerTransfer(noteId, bankId, 0, false);
        vm.expectRevert(LedgerAccess.EnforcedPause.selector);
        notes.ledgerLock(noteId, bankId);
        vm.expectRevert(LedgerAccess.EnforcedPause.selector);
        notes.ledgerRelease(noteId);
        vm.expectRevert(LedgerAccess.EnforcedPause.selector);
        notes.burnForSettlement(noteId, slotId);
        vm.expectRevert(LedgerAccess.EnforcedPause.selector);
        notes.burnBatchForSettlement(slotId, _ids(noteId));
        vm.stopPrank();
    }

    // ================================================================== issueForOrder

    function test_issueForOrder_issuesLockedNote() public {
        uint64 maturity = _maturity();
        vm.expectEmit(address(notes));
        emit IERC721.Transfer(address(0), supplier, 1);
        vm.expectEmit(address(notes));
        emit IReceivableNotes.ReceivableIssued(1, coreId, supplierId, 1, FACE, address(cash), maturity, INV, 7);
        vm.expectEmit(address(notes));
        emit IReceivableNotes.NoteLocked(1, bankId);
        vm.prank(address(orders));
        (uint256 slotId, uint256 noteId) =
            notes.issueForOrder(7, coreId, supplierId, bankId, FACE, address(cash), maturity, INV);
        assertEq(notes.slotOfOrder(7), slotId);
        assertEq(notes.receivable(slotId).orderId, 7);
        assertEq(notes.lienholderOf(noteId), bankId);
        assertEq(notes.ownerOf(noteId), supplier);
        assertEq(notes.slotOfInvoice(INV), slotId);
        assertEq(registry.member(coreId).outstanding, FACE);
    }

    function test_issueForOrder_withoutLienholder() public {
        vm.prank(address(orders));
        (, uint256 noteId) = notes.issueForOrder(7, coreId, supplierId, 0, FACE, address(cash), _maturity(), INV);
        assertEq(notes.lienholderOf(noteId), 0);
        _split(supplier, noteId, bank, 1_000_00);
    }

    function test_issueForOrder_revertsOnTokenisedOrZeroOrder() public {
        vm.startPrank(address(orders));
        (uint256 slotId,) = notes.issueForOrder(7, coreId, supplierId, 0, FACE, address(cash), _maturity(), INV);
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.OrderAlreadyTokenised.selector, 7, slotId));
        notes.issueForOrder(7, coreId, supplierId, 0, FACE, address(cash), _maturity(), INV2);
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.ZeroOrderId.selector));
        notes.issueForOrder(0, coreId, supplierId, 0, FACE, address(cash), _maturity(), INV2);
        vm.stopPrank();
    }

    function test_issueForOrder_revertsOnBadParties() public {
        vm.startPrank(address(orders));
        vm.expectRevert(_missingRole(supplier, Roles.CORE_ENTERPRISE, Roles.SUPPLIER));
        notes.issueForOrder(7, supplierId, supplier2Id, 0, FACE, address(cash), _maturity(), INV);
        vm.expectRevert(_missingRole(auditor, Roles.HOLDER, Roles.AUDITOR));
        notes.issueForOrder(7, coreId, auditorId, 0, FACE, address(cash), _maturity(), INV);
        vm.expectRevert(_missingRole(supplier2, Roles.FINANCIER, Roles.SUPPLIER));
        notes.issueForOrder(7, coreId, supplierId, supplier2Id, FACE, address(cash), _maturity(), INV);
        vm.expectRevert(abi.encodeWithSelector(IMemberRegistry.UnknownMember.selector, uint32(999)));
        notes.issueForOrder(7, coreId, 999, 0, FACE, address(cash), _maturity(), INV);
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.InvalidFaceValue.selector, 0));
        notes.issueForOrder(7, coreId, supplierId, 0, 0, address(cash), _maturity(), INV);
        vm.stopPrank();
    }

    // ================================================================== ledgerSplit

    function test_ledgerSplit_movesValue() public {
        (uint256 slotId, uint256 noteId) = _issue();
        vm.expectEmit(address(notes));
        emit IReceivableNotes.NoteSplit(noteId, 2, slotId, 1_000_00);
        vm.prank(address(financing));
        uint256 newId = notes.ledgerSplit(noteId, bankId, 1_000_00, 0, false);
        assertEq(newId, 2);
        assertEq(notes.ownerOf(newId), bank);
        assertEq(notes.balanceOf(newId), 1_000_00);
        assertEq(notes.balanceOf(noteId), FACE - 1_000_00);
        assertEq(notes.parentOf(newId), noteId);
        assertEq(notes.receivable(slotId).liveNotes, 2);
    }

    function test_ledgerSplit_appliesPolicyWithoutIgnoreMaturity() public {
        (uint256 slotId, uint256 noteId) = _issue();
        vm.startPrank(address(financing));
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.ValueBelowMinimum.selector, PER - 1, PER));
        notes.ledgerSplit(noteId, bankId, PER - 1, 0, false);
        vm.expectRevert(IReceivableNotes.ZeroValue.selector);
        notes.ledgerSplit(noteId, bankId, 0, 0, false);
        notes.ledgerSplit(noteId, bankId, 1_000_00, 0, false);
        vm.stopPrank();
        // a cap lowered below the live notes: only a move of a whole value passes the minimum, and the cap holds
        vm.prank(operator);
        notes.setPolicy(100, 2, 365 days);
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.TooManyLiveNotes.selector, slotId, 2));
        vm.prank(address(financing));
        notes.ledgerSplit(noteId, bankId, FACE - 1_000_00, 0, false);
    }

    function test_ledgerSplit_recoveryIgnoresMaturityAndMinimum() public {
        (uint256 slotId, uint256 noteId) = _issue();
        uint64 maturity = notes.receivable(slotId).maturity;
        vm.warp(maturity + 10 days);
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.SlotMatured.selector, slotId, maturity));
        vm.prank(address(financing));
        notes.ledgerSplit(noteId, bankId, 1_000_00, 0, false);

        vm.prank(operator);
        notes.setPolicy(100, 1, 365 days); // cap does not apply to recovery either
        vm.prank(address(financing));
        uint256 newId = notes.ledgerSplit(noteId, bankId, 1, 0, true);
        assertEq(notes.balanceOf(newId), 1);
        assertEq(notes.balanceOf(noteId), FACE - 1);
        assertEq(notes.receivable(slotId).liveNotes, 2);
    }

    function test_ledgerSplit_recoveryValueChecks() public {
        (, uint256 noteId) = _issue();
        vm.startPrank(address(financing));
        vm.expectRevert(IReceivableNotes.ZeroValue.selector);
        notes.ledgerSplit(noteId, bankId, 0, 0, true);
        vm.expectRevert(
            abi.encodeWithSelector(IReceivableNotes.InsufficientValue.selector, noteId, FACE, uint256(FACE) + 1)
        );
        notes.ledgerSplit(noteId, bankId, uint256(FACE) + 1, 0, true);
        vm.stopPrank();
    }

    function test_ledgerSplit_lockedNoteNeedsLienholder() public {
        (, uint256 noteId) = _issue();
        _lock(noteId, bank);
        vm.expectRevert(_locked(noteId, bankId));
        vm.prank(address(financing));
        notes.ledgerSplit(noteId, bankId, 1_000_00, 0, false);
        vm.expectRevert(_locked(noteId, bankId));
        vm.prank(address(financing));
        notes.ledgerSplit(noteId, bankId, 1_000_00, bank2Id, false);

        vm.prank(address(financing));
        uint256 newId = notes.ledgerSplit(noteId, bankId, 1_000_00, bankId, false);
        assertEq(notes.ownerOf(newId), bank);
        assertEq(notes.lienholderOf(newId), 0);
        assertEq(notes.lienholderOf(noteId), bankId); // remainder stays pledged
    }

    function test_ledgerSplit_revertsOnSelfTransferAndBadRecipient() public {
        (, uint256 noteId) = _issue();
        vm.startPrank(address(financing));
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.SelfTransfer.selector, noteId));
        notes.ledgerSplit(noteId, supplierId, 1_000_00, 0, false);
        vm.expectRevert(_notActive(suspended));
        notes.ledgerSplit(noteId, suspendedId, 1_000_00, 0, false);
        vm.expectRevert(_missingRole(auditor, Roles.HOLDER, Roles.AUDITOR));
        notes.ledgerSplit(noteId, auditorId, 1_000_00, 0, false);
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.UnknownNote.selector, 77));
        notes.ledgerSplit(77, bankId, 1_000_00, 0, false);
        vm.stopPrank();
    }

    function test_ledgerSplit_slotStatusRules() public {
        (uint256 slotId, uint256 noteId) = _issue();
        vm.prank(address(settlement));
        notes.setSlotStatus(slotId, IReceivableNotes.SlotStatus.Defaulted);
        vm.expectRevert(
            abi.encodeWithSelector(
                IReceivableNotes.SlotNotActive.selector, slotId, IReceivableNotes.SlotStatus.Defaulted
            )
        );
        vm.prank(address(financing));
        notes.ledgerSplit(noteId, bankId, 1_000_00, 0, false);
        // recourse on a defaulted slot
        vm.prank(address(financing));
        uint256 newId = notes.ledgerSplit(noteId, bankId, 1_000_00, 0, true);
        assertEq(notes.ownerOf(newId), bank);

        (uint256 slot2, uint256 note2) = _issue(supplier, FACE, INV2);
        vm.prank(address(settlement));
        notes.setSlotStatus(slot2, IReceivableNotes.SlotStatus.Settled);
        vm.expectRevert(
            abi.encodeWithSelector(
                IReceivableNotes.SlotNotActive.selector, slot2, IReceivableNotes.SlotStatus.Settled
            )
        );
        vm.prank(address(financing));
        notes.ledgerSplit(note2, bankId, 1_000_00, 0, true);
    }

    // ================================================================== ledgerTransfer

    function test_ledgerTransfer_movesWholeNote() public {
        (, uint256 noteId) = _issue();
        vm.prank(supplier);
        notes.approve(bank2, noteId);
        vm.expectEmit(address(notes));
        emit IERC721.Transfer(supplier, bank, noteId);
        vm.prank(address(financing));
        notes.ledgerTransfer(noteId, bankId, 0, false);
        assertEq(notes.ownerOf(noteId), bank);
        assertEq(notes.balanceOf(bank), 1);
        assertEq(notes.balanceOf(supplier), 0);
        assertEq(notes.getApproved(noteId), address(0));
    }

    function test_ledgerTransfer_lienholderMovesLockedNote() public {
        (, uint256 noteId) = _issue();
        _lock(noteId, bank);
        vm.expectRevert(_locked(noteId, bankId));
        vm.prank(address(financing));
        notes.ledgerTransfer(noteId, bankId, 0, false);

        vm.expectEmit(address(notes));
        emit IReceivableNotes.NoteReleased(noteId, bankId);
        vm.expectEmit(address(notes));
        emit IERC721.Transfer(supplier, bank, noteId);
        vm.prank(address(financing));
        notes.ledgerTransfer(noteId, bankId, bankId, false);
        assertEq(notes.ownerOf(noteId), bank);
        assertEq(notes.lienholderOf(noteId), 0);
    }

    function test_ledgerTransfer_recoveryAfterMaturity() public {
        (uint256 slotId, uint256 noteId) = _issue();
        _lock(noteId, bank);
        uint64 maturity = notes.receivable(slotId).maturity;
        vm.warp(maturity);
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.SlotMatured.selector, slotId, maturity));
        vm.prank(address(financing));
        notes.ledgerTransfer(noteId, bankId, bankId, false);
        vm.prank(address(financing));
        notes.ledgerTransfer(noteId, bankId, bankId, true);
        assertEq(notes.ownerOf(noteId), bank);
        assertEq(notes.lienholderOf(noteId), 0);
    }

    function test_ledgerTransfer_revertsOnSelfTransferAndBadRecipient() public {
        (, uint256 noteId) = _issue();
        vm.startPrank(address(financing));
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.SelfTransfer.selector, noteId));
        notes.ledgerTransfer(noteId, supplierId, 0, false);
        vm.expectRevert(_notActive(suspended));
        notes.ledgerTransfer(noteId, suspendedId, 0, false);
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.UnknownNote.selector, 77));
        notes.ledgerTransfer(77, bankId, 0, false);
        vm.stopPrank();
    }

    // ================================================================== ledgerLock / ledgerRelease

    function test_ledgerLock_andRelease() public {
        (, uint256 noteId) = _issue();
        vm.expectEmit(address(notes));
        emit IReceivableNotes.NoteLocked(noteId, bank2Id);
        vm.prank(address(financing));
        notes.ledgerLock(noteId, bank2Id);
        assertEq(notes.lienholderOf(noteId), bank2Id);

        vm.expectRevert(_locked(noteId, bank2Id));
        vm.prank(address(financing));
        notes.ledgerLock(noteId, bankId);

        vm.expectEmit(address(notes));
        emit IReceivableNotes.NoteReleased(noteId, bank2Id);
        vm.prank(address(financing));
        notes.ledgerRelease(noteId);
        assertEq(notes.lienholderOf(noteId), 0);

        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.NoteNotLocked.selector, noteId));
        vm.prank(address(financing));
        notes.ledgerRelease(noteId);
    }

    function test_ledgerLock_revertsForNonFinancier() public {
        (, uint256 noteId) = _issue();
        vm.expectRevert(_missingRole(supplier2, Roles.FINANCIER, Roles.SUPPLIER));
        vm.prank(address(financing));
        notes.ledgerLock(noteId, supplier2Id);
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.UnknownNote.selector, 9));
        vm.prank(address(financing));
        notes.ledgerLock(9, bankId);
    }

    // ================================================================== burns

    function test_burnForSettlement_burnsNote() public {
        (uint256 slotId, uint256 noteId) = _issue();
        vm.expectEmit(address(notes));
        emit IERC3525.TransferValue(noteId, 0, FACE);
        vm.expectEmit(address(notes));
        emit IERC721.Transfer(supplier, address(0), noteId);
        vm.prank(address(settlement));
        (address holder, uint256 value) = notes.burnForSettlement(noteId, slotId);
        assertEq(holder, supplier);
        assertEq(value, FACE);
        assertEq(notes.receivable(slotId).liveNotes, 0);
        assertEq(notes.balanceOf(supplier), 0);
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.UnknownNote.selector, noteId));
        notes.balanceOf(noteId);
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.UnknownNote.selector, noteId));
        notes.ownerOf(noteId);
        // burning again fails
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.UnknownNote.selector, noteId));
        vm.prank(address(settlement));
        notes.burnForSettlement(noteId, slotId);
    }

    function test_burnForSettlement_revertsOnWrongSlotOrLock() public {
        (uint256 slotId, uint256 noteId) = _issue();
        (uint256 slot2,) = _issue(supplier, FACE, INV2);
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.NoteNotInSlot.selector, noteId, slot2));
        vm.prank(address(settlement));
        notes.burnForSettlement(noteId, slot2);
        _lock(noteId, bank);
        vm.expectRevert(_locked(noteId, bankId));
        vm.prank(address(settlement));
        notes.burnForSettlement(noteId, slotId);
    }

    function test_burnBatchForSettlement_burnsAll() public {
        (uint256 slotId, uint256 noteId) = _issue();
        uint256 child = _split(supplier, noteId, bank, 40_000_00);
        vm.expectEmit(address(notes));
        emit IERC721.Transfer(supplier, address(0), noteId);
        vm.expectEmit(address(notes));
        emit IERC721.Transfer(bank, address(0), child);
        vm.prank(address(settlement));
        (address[] memory holders, uint256[] memory values) =
            notes.burnBatchForSettlement(slotId, _ids(noteId, child));
        assertEq(holders.length, 2);
        assertEq(holders[0], supplier);
        assertEq(holders[1], bank);
        assertEq(values[0], 60_000_00);
        assertEq(values[1], 40_000_00);
        assertEq(notes.receivable(slotId).liveNotes, 0);
        assertEq(notes.balanceOf(supplier), 0);
        assertEq(notes.balanceOf(bank), 0);
    }

    function test_burnBatchForSettlement_revertsOnDuplicateWrongSlotOrLock() public {
        (uint256 slotId, uint256 noteId) = _issue();
        (uint256 slot2, uint256 note2) = _issue(supplier, FACE, INV2);
        uint256 child = _split(supplier, noteId, bank, 40_000_00);
        vm.startPrank(address(settlement));
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.UnknownNote.selector, noteId));
        notes.burnBatchForSettlement(slotId, _ids(noteId, noteId));
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.NoteNotInSlot.selector, note2, slotId));
        notes.burnBatchForSettlement(slotId, _ids(noteId, note2));
        vm.stopPrank();
        _lock(child, bank2);
        vm.expectRevert(_locked(child, bank2Id));
        vm.prank(address(settlement));
        notes.burnBatchForSettlement(slotId, _ids(noteId, child));
        assertEq(notes.receivable(slot2).liveNotes, 1);
        assertEq(notes.receivable(slotId).liveNotes, 2);
    }

    function test_burnBatchForSettlement_emptyBatch() public {
        (uint256 slotId,) = _issue();
        vm.prank(address(settlement));
        (address[] memory holders, uint256[] memory values) =
            notes.burnBatchForSettlement(slotId, new uint256[](0));
        assertEq(holders.length, 0);
        assertEq(values.length, 0);
        assertEq(notes.receivable(slotId).liveNotes, 1);
    }

    // ================================================================== setSlotStatus

    function test_setSlotStatus_forwardOnly() public {
        (uint256 slotId,) = _issue();
        vm.expectEmit(address(notes));
        emit IReceivableNotes.SlotStatusChanged(slotId, IReceivableNotes.SlotStatus.Settled);
        vm.prank(address(settlement));
        notes.setSlotStatus(slotId, IReceivableNotes.SlotStatus.Settled);
        assertEq(uint8(notes.receivable(slotId).status), uint8(IReceivableNotes.SlotStatus.Settled));

        vm.expectRevert(
            abi.encodeWithSelector(
                IReceivableNotes.InvalidStatusChange.selector,
                slotId,
                IReceivableNotes.SlotStatus.Settled,
                IReceivableNotes.SlotStatus.Defaulted
            )
        );
        vm.prank(address(settlement));
        notes.setSlotStatus(slotId, IReceivableNotes.SlotStatus.Defaulted);
        vm.expectRevert(
            abi.encodeWithSelector(
                IReceivableNotes.InvalidStatusChange.selector,
                slotId,
                IReceivableNotes.SlotStatus.Settled,
                IReceivableNotes.SlotStatus.Active
            )
        );
        vm.prank(address(settlement));
        notes.setSlotStatus(slotId, IReceivableNotes.SlotStatus.Active);
    }

    function test_setSlotStatus_revertsOnActiveOrNoneTarget() public {
        (uint256 slotId,) = _issue();
        vm.startPrank(address(settlement));
        vm.expectRevert(
            abi.encodeWithSelector(
                IReceivableNotes.InvalidStatusChange.selector,
                slotId,
                IReceivableNotes.SlotStatus.Active,
                IReceivableNotes.SlotStatus.Active
            )
        );
        notes.setSlotStatus(slotId, IReceivableNotes.SlotStatus.Active);
        vm.expectRevert(
            abi.encodeWithSelector(
                IReceivableNotes.InvalidStatusChange.selector,
                slotId,
                IReceivableNotes.SlotStatus.Active,
                IReceivableNotes.SlotStatus.None
            )
        );
        notes.setSlotStatus(slotId, IReceivableNotes.SlotStatus.None);
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.UnknownSlot.selector, 9));
        notes.setSlotStatus(9, IReceivableNotes.SlotStatus.Settled);
        // Defaulted is a valid first move
        notes.setSlotStatus(slotId, IReceivableNotes.SlotStatus.Defaulted);
        vm.stopPrank();
        assertEq(uint8(notes.receivable(slotId).status), uint8(IReceivableNotes.SlotStatus.Defaulted));
    }

    // ================================================================== policy / pause

    function test_setPolicy_setsValues() public {
        vm.expectEmit(address(notes));
        emit IReceivableNotes.PolicySet(50, 20, 30 days);
        vm.prank(operator);
        notes.setPolicy(50, 20, 30 days);
        assertEq(notes.minSplitValue(), 50);
        assertEq(notes.maxLiveNotesPerSlot(), 20);
        assertEq(notes.maxTenor(), 30 days);
    }

    function test_setPolicy_defaults() public view {
        assertEq(notes.minSplitValue(), 100);
        assertEq(notes.maxLiveNotesPerSlot(), 500);
        assertEq(notes.maxTenor(), 365 days);
    }

    function test_setPolicy_acceptsBounds() public {
        vm.startPrank(operator);
        notes.setPolicy(1, 1, 1 days);
        assertEq(notes.minSplitValue(), 1);
        notes.setPolicy(type(uint64).max, 10_000, 5 * 365 days);
        vm.stopPrank();
        assertEq(notes.minSplitValue(), type(uint64).max);
        assertEq(notes.maxLiveNotesPerSlot(), 10_000);
        assertEq(notes.maxTenor(), 5 * 365 days);
    }

    function test_setPolicy_revertsForNonOperator() public {
        vm.expectRevert(abi.encodeWithSelector(LedgerAccess.NotOperator.selector, supplier));
        vm.prank(supplier);
        notes.setPolicy(50, 20, 30 days);
    }

    function test_setPolicy_revertsOnInvalidBounds() public {
        vm.startPrank(operator);
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.InvalidPolicy.selector, 0));
        notes.setPolicy(0, 20, 30 days);
        uint256 tooBig = uint256(type(uint64).max) + 1;
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.InvalidPolicy.selector, tooBig));
        notes.setPolicy(tooBig, 20, 30 days);
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.InvalidPolicy.selector, 0));
        notes.setPolicy(50, 0, 30 days);
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.InvalidPolicy.selector, 10_001));
        notes.setPolicy(50, 10_001, 30 days);
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.InvalidPolicy.selector, 1 days - 1));
        notes.setPolicy(50, 20, 1 days - 1);
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.InvalidPolicy.selector, 5 * 365 days + 1));
        notes.setPolicy(50, 20, 5 * 365 days + 1);
        vm.stopPrank();
    }

    function test_pause_andUnpause() public {
        vm.expectEmit(address(notes));
        emit LedgerAccess.Paused(operator);
        vm.prank(operator);
        notes.pause();
        assertTrue(notes.paused());
        // policy is an operator action and still works while paused; the flag survives it
        vm.prank(operator);
        notes.setPolicy(50, 20, 365 days);
        assertTrue(notes.paused());

        vm.expectRevert(LedgerAccess.EnforcedPause.selector);
        vm.prank(operator);
        notes.pause();

        vm.expectEmit(address(notes));
        emit LedgerAccess.Unpaused(operator);
        vm.prank(operator);
        notes.unpause();
        assertFalse(notes.paused());
        assertEq(notes.minSplitValue(), 50);

        vm.expectRevert(LedgerAccess.ExpectedPause.selector);
        vm.prank(operator);
        notes.unpause();
        _issue();
    }

    function test_pause_revertsForNonOperator() public {
        vm.expectRevert(abi.encodeWithSelector(LedgerAccess.NotOperator.selector, supplier));
        vm.prank(supplier);
        notes.pause();
        _pause();
        vm.expectRevert(abi.encodeWithSelector(LedgerAccess.NotOperator.selector, bank));
        vm.prank(bank);
        notes.unpause();
    }

    // ================================================================== metadata / views

    function test_supportsInterface() public view {
        assertTrue(notes.supportsInterface(0xd5358140));
        assertTrue(notes.supportsInterface(0x80ac58cd));
        assertTrue(notes.supportsInterface(0x01ffc9a7));
        assertFalse(notes.supportsInterface(0xffffffff));
        assertTrue(notes.supportsInterface(0x5b5e139f)); // ERC-721 metadata
        assertTrue(notes.supportsInterface(0xe1600902)); // ERC-3525 metadata
        assertEq(type(IERC3525Metadata).interfaceId, bytes4(0xe1600902));
    }

    function test_uris_areUnderTheBaseFixedAtDeploy() public {
        (uint256 slotId, uint256 noteId) = _issue();
        uint256 child = _split(supplier, noteId, bank, 1_000_00);
        assertEq(notes.tokenURI(noteId), string.concat(METADATA_BASE, "notes/", vm.toString(noteId)));
        assertEq(notes.tokenURI(child), string.concat(METADATA_BASE, "notes/", vm.toString(child)));
        assertEq(notes.slotURI(slotId), string.concat(METADATA_BASE, "receivables/", vm.toString(slotId)));
        assertEq(notes.contractURI(), string.concat(METADATA_BASE, "contract"));
    }

    function test_uris_revertForUnknownOrBurnedTokens() public {
        (uint256 slotId, uint256 noteId) = _issue();
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.UnknownNote.selector, 99));
        notes.tokenURI(99);
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.UnknownSlot.selector, 99));
        notes.slotURI(99);
        vm.prank(address(settlement));
        notes.burnForSettlement(noteId, slotId);
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.UnknownNote.selector, noteId));
        notes.tokenURI(noteId);
        assertEq(notes.slotURI(slotId), string.concat(METADATA_BASE, "receivables/", vm.toString(slotId)));
    }

    function test_uris_areEmptyWithoutABase() public {
        vm.expectEmit();
        emit IReceivableNotes.BaseURISet("");
        ReceivableNotes bare = new ReceivableNotes(registry, "");
        assertEq(bare.contractURI(), "");
    }

    function test_metadata() public view {
        assertEq(notes.valueDecimals(), 2);
        assertEq(notes.name(), "SCF Receivable Notes");
        assertEq(notes.symbol(), "SCFN");
    }

    function test_views_unknownIds() public {
        assertEq(notes.slotCount(), 0);
        assertEq(notes.noteCount(), 0);
        assertEq(notes.slotOfInvoice(INV), 0);
        assertEq(notes.firstNoteOf(1), 0);
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.UnknownSlot.selector, 1));
        notes.receivable(1);
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.UnknownNote.selector, 1));
        notes.note(1);
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.UnknownNote.selector, 1));
        notes.parentOf(1);
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.UnknownNote.selector, 1));
        notes.slotOf(1);
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.UnknownNote.selector, 1));
        notes.lienholderOf(1);
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.UnknownNote.selector, 1));
        notes.ownerOf(1);
    }

    function test_views_afterSeveralIssues() public {
        (uint256 s1, uint256 n1) = _issue();
        _split(supplier, n1, bank, 1_000_00);
        (uint256 s2, uint256 n2) = _issue(supplier2, 2_000_00, INV2);
        assertEq(notes.slotOfInvoice(INV), s1);
        assertEq(notes.slotOfInvoice(INV2), s2);
        assertEq(notes.firstNoteOf(s1), n1);
        assertEq(notes.firstNoteOf(s2), n2);
        assertEq(notes.slotCount(), 2);
        assertEq(notes.noteCount(), 3);
        assertEq(notes.receivable(s2).creditorId, supplier2Id);
        assertEq(notes.receivable(s2).faceValue, 2_000_00);
    }

    // ================================================================== fuzz

    function _assertConserved(uint256 slotId, uint256[] memory ids, uint256 count, uint256 face) internal view {
        uint256 sum;
        uint256 live;
        for (uint256 i; i < count; ++i) {
            (uint256 v, bool exists) = _valueOf(ids[i]);
            if (!exists) continue; // emptied by a value move: burned (S-3)
            sum += v;
            ++live;
            assertEq(notes.slotOf(ids[i]), slotId);
        }
        assertEq(sum, face, "value not conserved");
        assertEq(notes.receivable(slotId).liveNotes, live, "live notes");
        uint256 held;
        for (uint256 k; k < 5; ++k) {
            held += notes.balanceOf(_holder(k));
        }
        assertEq(held, live, "ERC-721 note counts");
    }

    /// @dev A note's value, and whether it is live (false once burned).
    function _valueOf(uint256 id) internal view returns (uint256 v, bool exists) {
        try notes.balanceOf(id) returns (uint256 value) {
            return (value, true);
        } catch {
            return (0, false);
        }
    }

    function _holder(uint256 seed) internal view returns (address) {
        uint256 k = seed % 5;
        if (k == 0) return supplier;
        if (k == 1) return supplier2;
        if (k == 2) return bank;
        if (k == 3) return bank2;
        return core2;
    }

    function testFuzz_split_conservesValue(uint128 faceSeed, uint256[12] calldata seeds) public {
        uint128 face = uint128(bound(faceSeed, MIN, CREDIT));
        (uint256 slotId, uint256 first) = _issue(supplier, face, INV);
        uint256 m = notes.minNoteValue(slotId);
        uint256[] memory ids = new uint256[](seeds.length + 1);
        ids[0] = first;
        uint256 count = 1;
        for (uint256 i; i < seeds.length; ++i) {
            count = _fuzzStep(ids, count, seeds[i], m);
            _assertConserved(slotId, ids, count, face);
        }
    }

    /// @dev One step of testFuzz_split_conservesValue: a merge, a whole transfer or a split of a live note.
    function _fuzzStep(uint256[] memory ids, uint256 count, uint256 seed, uint256 m) internal returns (uint256) {
        uint256 id = ids[seed % count];
        (uint256 v, bool exists) = _valueOf(id);
        if (!exists) return count;
        address holder = notes.ownerOf(id);
        uint256 op = (seed >> 8) % 4;
        if (op == 0 && count > 1) {
            // merge part of this note into another note of the slot
            uint256 other = ids[(seed % count + 1 + (seed >> 16) % (count - 1)) % count];
            (uint256 otherBefore, bool otherLive) = _valueOf(other);
            if (!otherLive) return count;
            uint256 amount = bound(seed >> 32, 1, v);
            if (v - amount != 0 && v - amount < m) amount = v; // a remainder below the minimum is refused
            vm.prank(holder);
            notes.transferFrom(id, other, amount);
            _assertLeft(id, v - amount);
            assertEq(notes.balanceOf(other), otherBefore + amount);
        } else if (op == 1) {
            // whole transfer to another holder
            address to = _holder(seed >> 16);
            if (to == holder) return count;
            vm.prank(holder);
            notes.transferFrom(holder, to, id);
            assertEq(notes.ownerOf(id), to);
            assertEq(notes.balanceOf(id), v);
        } else {
            if (v < m) return count;
            uint256 amount = v < 2 * m ? v : bound(seed >> 32, m, v - m);
            vm.prank(holder);
            uint256 newId = notes.transferFrom(id, _holder(seed >> 16), amount);
            ids[count++] = newId;
            assertEq(notes.balanceOf(newId), amount);
            _assertLeft(id, v - amount);
            assertEq(notes.parentOf(newId), id);
        }
        return count;
    }

    /// @dev The note keeps `left`, or is burned when `left` is 0 (S-3).
    function _assertLeft(uint256 id, uint256 left) internal view {
        (uint256 v, bool exists) = _valueOf(id);
        assertEq(v, left);
        assertEq(exists, left != 0, "an emptied note is burned");
    }

    function testFuzz_merge_conservesValue(uint128 faceSeed, uint8 splitsSeed, uint256 seed) public {
        // the whole uint96 range: merges add values unchecked
        vm.prank(operator);
        registry.setCreditLimit(coreId, type(uint128).max);
        uint128 face = uint128(bound(faceSeed, 2 * MIN, type(uint96).max));
        uint256 splits = bound(splitsSeed, 1, 8);
        (uint256 slotId, uint256 first) = _issue(supplier, face, INV);
        uint256 m = notes.minNoteValue(slotId);
        uint256[] memory ids = new uint256[](splits + 1);
        ids[0] = first;
        uint256 count = 1;
        for (uint256 i; i < splits; ++i) {
            uint256 v = notes.balanceOf(first);
            if (v < 2 * m) break;
            uint256 amount = bound(uint256(keccak256(abi.encode(seed, i))), m, v - m);
            ids[count++] = _split(supplier, first, _holder(seed >> i), amount);
        }
        _assertConserved(slotId, ids, count, face);
        // merge every child back into the first note, partially then fully
        for (uint256 i = 1; i < count; ++i) {
            uint256 v = notes.balanceOf(ids[i]);
            address holder = notes.ownerOf(ids[i]);
            uint256 part = bound(uint256(keccak256(abi.encode(seed, i, "part"))), 1, v);
            if (v - part != 0 && v - part < m) part = v; // a remainder below the minimum is refused
            vm.prank(holder);
            notes.transferFrom(ids[i], first, part);
            _assertConserved(slotId, ids, count, face);
            if (part < v) {
                vm.prank(holder);
                notes.transferFrom(ids[i], first, v - part);
            }
            (, bool exists) = _valueOf(ids[i]);
            assertFalse(exists, "an emptied note is burned");
            _assertConserved(slotId, ids, count, face);
        }
        assertEq(notes.balanceOf(first), face);
    }

    // ================================================================== receiver contracts

    function _admitContract(address account, uint64 group) internal returns (uint32 id) {
        vm.prank(operator);
        id = registry.admit(account, Roles.SUPPLIER, keccak256(abi.encode(account)), group, 0);
    }

    function test_split_callsAcceptingReceiver() public {
        NoteReceiverMock rcv = new NoteReceiverMock(NoteReceiverMock.onERC3525Received.selector, true);
        _admitContract(address(rcv), 20);
        (, uint256 noteId) = _issue();
        uint256 newId = _split(supplier, noteId, address(rcv), 1_000_00);
        assertEq(rcv.calls(), 1);
        assertEq(rcv.lastFrom(), noteId);
        assertEq(rcv.lastTo(), newId);
        assertEq(rcv.lastValue(), 1_000_00);
        assertEq(notes.ownerOf(newId), address(rcv));
    }

    function test_split_revertsWhenReceiverRejects() public {
        NoteReceiverMock rcv = new NoteReceiverMock(bytes4(0xdeadbeef), true);
        _admitContract(address(rcv), 20);
        (, uint256 noteId) = _issue();
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.RejectedByReceiver.selector, address(rcv)));
        _split(supplier, noteId, address(rcv), 1_000_00);
    }

    function test_split_skipsContractWithoutReceiverSupport() public {
        NoteReceiverMock rcv = new NoteReceiverMock(bytes4(0xdeadbeef), false);
        _admitContract(address(rcv), 20);
        PlainContractMock plain = new PlainContractMock();
        _admitContract(address(plain), 21);
        (, uint256 noteId) = _issue();
        uint256 a = _split(supplier, noteId, address(rcv), 1_000_00);
        uint256 b = _split(supplier, noteId, address(plain), 1_000_00);
        assertEq(rcv.calls(), 0);
        assertEq(notes.ownerOf(a), address(rcv));
        assertEq(notes.ownerOf(b), address(plain));
    }

    function test_merge_callsReceiverOfOtherHoldersNote() public {
        NoteReceiverMock rcv = new NoteReceiverMock(NoteReceiverMock.onERC3525Received.selector, true);
        _admitContract(address(rcv), 20);
        (, uint256 noteId) = _issue();
        uint256 rcvNote = _split(supplier, noteId, address(rcv), 1_000_00);
        vm.prank(supplier);
        notes.transferFrom(noteId, rcvNote, 500_00);
        assertEq(rcv.calls(), 2);
        assertEq(rcv.lastFrom(), noteId);
        assertEq(rcv.lastTo(), rcvNote);
        assertEq(rcv.lastValue(), 500_00);
        assertEq(notes.balanceOf(rcvNote), 1_500_00);
    }

    function test_merge_revertsWhenReceiverRejects() public {
        NoteReceiverMock rcv = new NoteReceiverMock(bytes4(0xdeadbeef), false);
        _admitContract(address(rcv), 20);
        (, uint256 noteId) = _issue();
        uint256 rcvNote = _split(supplier, noteId, address(rcv), 1_000_00); // no support declared yet: no call
        // a receiver that declares support but rejects
        NoteReceiverMock bad = new NoteReceiverMock(bytes4(0xdeadbeef), true);
        _admitContract(address(bad), 21);
        vm.prank(address(rcv));
        notes.transferFrom(address(rcv), address(bad), rcvNote);
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.RejectedByReceiver.selector, address(bad)));
        vm.prank(supplier);
        notes.transferFrom(noteId, rcvNote, 500_00);
    }

    function test_safeTransferFrom_toReceiverContract() public {
        NoteReceiverMock rcv = new NoteReceiverMock(NoteReceiverMock.onERC3525Received.selector, true);
        _admitContract(address(rcv), 20);
        (, uint256 noteId) = _issue();
        vm.prank(supplier);
        notes.safeTransferFrom(supplier, address(rcv), noteId);
        assertEq(notes.ownerOf(noteId), address(rcv));
    }

    function test_safeTransferFrom_revertsForNonReceiverContract() public {
        PlainContractMock plain = new PlainContractMock();
        _admitContract(address(plain), 21);
        (, uint256 noteId) = _issue();
        vm.expectRevert(abi.encodeWithSelector(IERC721Errors.ERC721InvalidReceiver.selector, address(plain)));
        vm.prank(supplier);
        notes.safeTransferFrom(supplier, address(plain), noteId);
        // the unsafe variant does not check
        vm.prank(supplier);
        notes.transferFrom(supplier, address(plain), noteId);
        assertEq(notes.ownerOf(noteId), address(plain));
    }

    // ================================================================== approval epochs / counters

    function test_approve_newHolderApprovalsVoidedOnNextTransfer() public {
        (, uint256 noteId) = _issue();
        vm.prank(supplier);
        notes.transferFrom(supplier, bank, noteId); // no approvals: nothing to void
        vm.prank(bank);
        notes.approve(bank2, noteId);
        vm.prank(bank);
        notes.approve(noteId, core2, 1_000_00);
        assertEq(notes.getApproved(noteId), bank2);
        // the approved operator moves the note: its own approval is voided with it
        vm.prank(bank2);
        notes.transferFrom(bank, supplier2, noteId);
        assertEq(notes.getApproved(noteId), address(0));
        assertEq(notes.allowance(noteId, core2), 0);
        vm.expectRevert(abi.encodeWithSelector(IMemberHoldings.NotApproved.selector, noteId, bank2));
        vm.prank(bank2);
        notes.transferFrom(supplier2, bank2, noteId);
    }

    function test_approve_spentAllowanceDoesNotBlockLaterApproval() public {
        (, uint256 noteId) = _issue();
        vm.prank(supplier);
        notes.approve(noteId, bank, 1_000_00);
        _split(bank, noteId, bank, 1_000_00);
        assertEq(notes.allowance(noteId, bank), 0);
        vm.prank(supplier);
        notes.transferFrom(supplier, supplier2, noteId);
        vm.prank(supplier2);
        notes.approve(noteId, bank, 2_000_00);
        assertEq(notes.allowance(noteId, bank), 2_000_00);
        _split(bank, noteId, bank, 2_000_00);
        assertEq(notes.allowance(noteId, bank), 0);
    }

    function test_ledgerTransfer_voidsApprovals() public {
        (, uint256 noteId) = _issue();
        vm.prank(supplier);
        notes.approve(noteId, bank2, 1_000_00);
        vm.prank(address(financing));
        notes.ledgerTransfer(noteId, bankId, 0, false);
        assertEq(notes.allowance(noteId, bank2), 0);
    }

    function test_setPolicy_keepsNoteCounterAndPauseFlag() public {
        (, uint256 noteId) = _issue();
        _split(supplier, noteId, bank, 1_000_00);
        vm.prank(operator);
        notes.setPolicy(1, 10_000, 5 * 365 days);
        assertEq(notes.noteCount(), 2);
        assertFalse(notes.paused());
        uint256 next = _split(supplier, noteId, bank, 1_000_00);
        assertEq(next, 3);
        (, uint256 other) = _issue(supplier2, 1_000_00, INV2);
        assertEq(other, 4);
        vm.prank(address(financing));
        assertEq(notes.ledgerSplit(other, bankId, 100_00, 0, false), 5);
        assertEq(notes.noteCount(), 5);
        assertEq(notes.slotCount(), 2);
    }

    function testFuzz_split_allowanceSpentExactly(uint256 allowed, uint256 value) public {
        (, uint256 noteId) = _issue();
        allowed = bound(allowed, 1, type(uint256).max - 1);
        value = bound(value, PER, FACE - PER);
        vm.prank(supplier);
        notes.approve(noteId, bank, allowed);
        if (allowed < value) {
            vm.expectRevert(
                abi.encodeWithSelector(IReceivableNotes.InsufficientAllowance.selector, noteId, bank, allowed, value)
            );
            _split(bank, noteId, bank, value);
            assertEq(notes.allowance(noteId, bank), allowed);
        } else {
            uint256 newId = _split(bank, noteId, bank, value);
            assertEq(notes.allowance(noteId, bank), allowed - value);
            assertEq(notes.balanceOf(newId) + notes.balanceOf(noteId), FACE);
        }
    }

    // ================================================================== membership changes

    function test_transferFrom_revertsWhenHolderSuspended() public {
        (, uint256 noteId) = _issue();
        vm.prank(supplier);
        notes.setApprovalForAll(bank, true);
        _suspend(supplierId);
        vm.expectRevert(_notActive(supplier));
        vm.prank(supplier);
        notes.transferFrom(supplier, bank, noteId);
        vm.expectRevert(_notActive(supplier));
        vm.prank(bank);
        notes.transferFrom(supplier, bank, noteId);
        vm.expectRevert(_notActive(supplier));
        vm.prank(bank);
        notes.transferFrom(noteId, bank, 1_000_00);
        // reinstated: the operator approval (kept by member id) works again
        vm.prank(operator);
        registry.reinstate(supplierId);
        vm.prank(bank);
        notes.transferFrom(supplier, bank, noteId);
        assertEq(notes.ownerOf(noteId), bank);
    }

    function test_lock_revertsWhenHolderSuspended() public {
        (, uint256 noteId) = _issue();
        _suspend(supplierId);
        vm.expectRevert(_notActive(supplier));
        vm.prank(supplier);
        notes.lock(noteId, bank);
    }

    function test_merge_revertsWhenTargetHolderLostHoldingRole() public {
        (, uint256 noteId) = _issue();
        uint256 other = _split(supplier, noteId, supplier2, 30_000_00);
        vm.prank(operator);
        registry.setRoles(supplier2Id, Roles.AUDITOR);
        vm.expectRevert(_missingRole(supplier2, Roles.HOLDER, Roles.AUDITOR));
        vm.prank(supplier);
        notes.transferFrom(noteId, other, 1_000_00);
    }

    function test_merge_revertsIntoBurnedNote() public {
        (uint256 slotId, uint256 noteId) = _issue();
        uint256 other = _split(supplier, noteId, bank, 30_000_00);
        vm.prank(address(settlement));
        notes.burnForSettlement(other, slotId);
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.UnknownNote.selector, other));
        vm.prank(supplier);
        notes.transferFrom(noteId, other, 1_000_00);
        assertEq(notes.balanceOf(noteId), FACE - 30_000_00);
    }

    function test_release_worksWhenLienholderRotated() public {
        (, uint256 noteId) = _issue();
        _lock(noteId, bank);
        address fresh = makeAddr("bank-new-key");
        vm.prank(operator);
        registry.rotateAccount(bankId, fresh);
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.NotLienholder.selector, noteId, bank));
        vm.prank(bank);
        notes.release(noteId);
        vm.prank(fresh);
        notes.release(noteId);
        assertEq(notes.lienholderOf(noteId), 0);
    }
}
