// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {Base} from "./Base.t.sol";
import {IFinancing} from "../../contracts/interfaces/IFinancing.sol";
import {Financing} from "../../contracts/financing/Financing.sol";
import {LedgerAccess} from "../../contracts/libraries/LedgerAccess.sol";
import {Roles} from "../../contracts/libraries/Roles.sol";
import {IOrderBook} from "../../contracts/interfaces/IOrderBook.sol";
import {IReceivableNotes} from "../../contracts/interfaces/IReceivableNotes.sol";
import {IMemberRegistry} from "../../contracts/interfaces/IMemberRegistry.sol";

/// @notice Unit and fuzz tests of factoring offers, recourse and order loans.
contract FinancingTest is Base {
    uint256 internal constant BPS_DAYS = 3_650_000;
    uint96 internal constant PART = 40_000_00;
    uint32 internal constant RATE = 1_000; // 10% p.a.
    uint96 internal constant PRINCIPAL = 50_000_00;
    uint32 internal constant LOAN_RATE = 500;
    uint64 internal constant LOAN_TERM = 30 days;

    uint256 internal slot;
    uint256 internal note;
    uint64 internal maturity;

    function setUp() public override {
        super.setUp();
        maturity = uint64(block.timestamp + TENOR);
        (slot, note) = _issue();
    }

    // ------------------------------------------------------------------ helpers

    function _offer(uint96 value, bool recourse) internal returns (uint256 offerId) {
        vm.prank(bank);
        offerId = financing.makeOffer(note, value, RATE, recourse, uint64(block.timestamp + 1 days));
    }

    function _acceptOffer(uint256 offerId) internal returns (uint256 purchaseId) {
        vm.prank(supplier);
        purchaseId = financing.acceptOffer(offerId);
    }

    /// @dev independent price: value - floor(value * rate * ceilDays / 3,650,000)
    function _price(uint256 value, uint256 rate, uint256 secs) internal pure returns (uint256) {
        uint256 d = secs / 86_400;
        if (secs % 86_400 != 0) d += 1;
        return value - (value * rate * d) / BPS_DAYS;
    }

    /// @dev independent interest: ceil(principal * rate * ceilDays / 3,650,000), at least one day
    function _interest(uint256 principal, uint256 rate, uint256 secs) internal pure returns (uint256) {
        uint256 d = secs / 86_400;
        if (secs % 86_400 != 0) d += 1;
        if (d == 0) d = 1;
        uint256 num = principal * rate * d;
        uint256 q = num / BPS_DAYS;
        if (q * BPS_DAYS != num) q += 1;
        return q;
    }

    function _pause() internal {
        vm.prank(operator);
        financing.pause();
    }

    /// @dev supplier sells PART of the note to bank (recourse flag), the slot defaults with `funded` paid in.
    function _defaultedPurchase(bool recourse, uint256 funded) internal returns (uint256 purchaseId, uint256 bought) {
        purchaseId = _acceptOffer(_offer(PART, recourse));
        bought = financing.purchase(purchaseId).noteId;
        if (funded != 0) {
            vm.prank(core);
            settlement.fund(slot, funded);
        }
        vm.warp(uint256(maturity) + 7 days);
        settlement.markDefault(slot);
    }

    function _pledgedOrder() internal returns (uint256 orderId) {
        orderId = _confirmedOrder(FACE);
        vm.prank(supplier);
        orders.pledge(orderId, bank);
    }

    function _lend(uint256 orderId, uint96 principal) internal returns (uint256 loanId) {
        vm.prank(bank);
        loanId = financing.lend(orderId, principal, LOAN_RATE, uint64(block.timestamp + LOAN_TERM));
    }

    /// @dev deliver + accept a (pledged) order; returns the order's slot and first note.
    function _invoice(uint256 orderId, uint128 face) internal returns (uint256 slotId, uint256 noteId) {
        vm.prank(supplier);
        orders.deliver(orderId);
        vm.prank(core);
        (slotId, noteId) = orders.accept(orderId, face, uint64(block.timestamp + TENOR), keccak256("inv-order"));
    }

    function _fundSupplier(uint256 amount) internal {
        vm.prank(bank);
        cash.mint(supplier, amount, "deposit-supplier");
    }

    // ================================================================== pricing

    function test_priceOf_dayRounding() public view {
        uint256 oneDay = FACE - FACE * RATE / BPS_DAYS;
        assertEq(financing.priceOf(FACE, RATE, 1), oneDay);
        assertEq(financing.priceOf(FACE, RATE, 86_400), oneDay);
        assertEq(financing.priceOf(FACE, RATE, 86_401), FACE - FACE * RATE * 2 / BPS_DAYS);
        assertEq(financing.priceOf(FACE, RATE, 0), FACE);
        // 90 days at 10%: 10,000,000 * 1000 * 90 / 3,650,000 = 246,575.34 -> 246,575
        assertEq(financing.priceOf(FACE, RATE, 90 days), FACE - 246_575);
        assertEq(financing.priceOf(FACE, 10_000, 365 days), 0);
    }

    function test_interestOf_roundsUpDaysAndAmount() public view {
        // a loan repaid in the block it was opened still pays one day
        assertEq(financing.interestOf(PRINCIPAL, LOAN_RATE, 0), 685);
        // 5,000,000 * 500 * 1 / 3,650,000 = 684.9 -> 685
        assertEq(financing.interestOf(PRINCIPAL, LOAN_RATE, 1), 685);
        assertEq(financing.interestOf(PRINCIPAL, LOAN_RATE, 86_400), 685);
        // 2 days: 1369.86 -> 1370
        assertEq(financing.interestOf(PRINCIPAL, LOAN_RATE, 86_401), 1370);
        // exact multiple: 3,650,000 * 1 * 1 / 3,650,000 = 1 exactly
        assertEq(financing.interestOf(BPS_DAYS, 1, 1 days), 1);
    }

    function testFuzz_priceOf_matchesFormula(uint256 value, uint256 rate, uint256 secs) public view {
        value = bound(value, 0, type(uint96).max);
        rate = bound(rate, 0, 10_000);
        secs = bound(secs, 0, 365 days);
        uint256 price = financing.priceOf(value, rate, secs);
        assertEq(price, _price(value, rate, secs));
        assertLe(price, value);
        // rounding of days: any part of a day counts as a whole day
        uint256 oneDay = value - value * rate / BPS_DAYS;
        assertEq(financing.priceOf(value, rate, 1), oneDay);
        assertEq(financing.priceOf(value, rate, 86_400), oneDay);
        assertEq(financing.priceOf(value, rate, 86_401), value - value * rate * 2 / BPS_DAYS);
        // the price cannot rise when more time is left
        if (secs >= 1) assertLe(price, financing.priceOf(value, rate, secs - 1));
    }

    function testFuzz_interestOf_roundsUp(uint256 principal, uint256 rate, uint256 elapsed) public view {
        principal = bound(principal, 0, type(uint96).max);
        rate = bound(rate, 0, 10_000);
        elapsed = bound(elapsed, 0, 10 * 365 days);
        uint256 interest = financing.interestOf(principal, rate, elapsed);
        assertEq(interest, _interest(principal, rate, elapsed));
        uint256 d = (elapsed + 86_399) / 86_400;
        if (d == 0) d = 1;
        uint256 num = principal * rate * d;
        // ceil: interest * B >= num and (interest - 1) * B < num
        assertGe(interest * BPS_DAYS, num);
        if (interest > 0) assertLt((interest - 1) * BPS_DAYS, num);
        else assertEq(num, 0);
    }

    // ================================================================== makeOffer

    function test_makeOffer_recordsOpenOffer() public {
        uint64 expiry = uint64(block.timestamp + 1 days);
        vm.expectEmit(address(financing));
        emit IFinancing.OfferMade(1, note, bankId, PART, RATE, true, expiry);
        vm.prank(bank);
        uint256 offerId = financing.makeOffer(note, PART, RATE, true, expiry);
        assertEq(offerId, 1);
        IFinancing.Offer memory o = financing.offer(offerId);
        assertEq(o.financierId, bankId);
        assertEq(uint8(o.status), uint8(IFinancing.OfferStatus.Open));
        assertTrue(o.recourse);
        assertEq(o.rateBps, RATE);
        assertEq(o.expiry, expiry);
        assertEq(o.value, PART);
        assertEq(o.noteId, note);
        (uint256 offers,,) = financing.counts();
        assertEq(offers, 1);
        // nothing moves on an offer
        assertEq(notes.ownerOf(note), supplier);
        assertEq(cash.balanceOf(supplier), 0);
    }

    function test_makeOffer_fullValueAndMaxRate() public {
        vm.prank(bank);
        uint256 offerId = financing.makeOffer(note, uint96(FACE), 10_000, false, uint64(block.timestamp + 1));
        assertEq(financing.offer(offerId).value, FACE);
        assertEq(financing.offer(offerId).rateBps, 10_000);
    }

    function test_makeOffer_revertsWhenNotFinancier() public {
        vm.expectRevert(
            abi.encodeWithSelector(IMemberRegistry.MissingRole.selector, supplier2, Roles.FINANCIER, Roles.SUPPLIER)
        );
        vm.prank(supplier2);
        financing.makeOffer(note, PART, RATE, false, uint64(block.timestamp + 1 days));
    }

    function test_makeOffer_revertsWhenOutsider() public {
        vm.expectRevert(abi.encodeWithSelector(IMemberRegistry.NotAMember.selector, outsider));
        vm.prank(outsider);
        financing.makeOffer(note, PART, RATE, false, uint64(block.timestamp + 1 days));
    }

    function test_makeOffer_revertsWhenUnknownNote() public {
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.UnknownNote.selector, 99));
        vm.prank(bank);
        financing.makeOffer(99, PART, RATE, false, uint64(block.timestamp + 1 days));
    }

    function test_makeOffer_revertsWhenSelfDealing() public {
        (, uint256 bankNote) = _issue(bank, FACE, keccak256("invoice-bank"));
        vm.expectRevert(abi.encodeWithSelector(IFinancing.SelfDealing.selector, bankId));
        vm.prank(bank);
        financing.makeOffer(bankNote, PART, RATE, false, uint64(block.timestamp + 1 days));
    }

    function test_makeOffer_revertsWhenValueZero() public {
        vm.expectRevert(abi.encodeWithSelector(IFinancing.InvalidValue.selector, 0));
        vm.prank(bank);
        financing.makeOffer(note, 0, RATE, false, uint64(block.timestamp + 1 days));
    }

    function test_makeOffer_revertsWhenValueAboveNote() public {
        vm.expectRevert(abi.encodeWithSelector(IFinancing.InvalidValue.selector, uint256(FACE) + 1));
        vm.prank(bank);
        financing.makeOffer(note, uint96(FACE) + 1, RATE, false, uint64(block.timestamp + 1 days));
    }

    function test_makeOffer_revertsWhenRateTooHigh() public {
        vm.expectRevert(abi.encodeWithSelector(IFinancing.InvalidRate.selector, 10_001));
        vm.prank(bank);
        financing.makeOffer(note, PART, 10_001, false, uint64(block.timestamp + 1 days));
    }

    function test_makeOffer_revertsWhenExpiryNotInFuture() public {
        uint64 expiry = uint64(block.timestamp);
        vm.expectRevert(abi.encodeWithSelector(IFinancing.InvalidExpiry.selector, expiry));
        vm.prank(bank);
        financing.makeOffer(note, PART, RATE, false, expiry);
    }

    function test_makeOffer_revertsWhenCurrencyMismatch() public {
        address other = makeAddr("other-currency");
        vm.prank(core);
        (, uint256 n2) = notes.issue(supplier, FACE, other, uint64(block.timestamp + TENOR), keccak256("inv-other"));
        vm.expectRevert(abi.encodeWithSelector(IFinancing.CurrencyMismatch.selector, other, address(cash)));
        vm.prank(bank);
        financing.makeOffer(n2, PART, RATE, false, uint64(block.timestamp + 1 days));
    }

    function test_makeOffer_revertsWhenPaused() public {
        _pause();
        vm.expectRevert(LedgerAccess.EnforcedPause.selector);
        vm.prank(bank);
        financing.makeOffer(note, PART, RATE, false, uint64(block.timestamp + 1 days));
    }

    // ================================================================== cancelOffer

    function test_cancelOffer_byFinancier() public {
        uint256 offerId = _offer(PART, false);
        vm.expectEmit(address(financing));
        emit IFinancing.OfferCancelled(offerId);
        vm.prank(bank);
        financing.cancelOffer(offerId);
        assertEq(uint8(financing.offer(offerId).status), uint8(IFinancing.OfferStatus.Cancelled));
        vm.expectRevert(
            abi.encodeWithSelector(IFinancing.OfferNotOpen.selector, offerId, IFinancing.OfferStatus.Cancelled)
        );
        _acceptOffer(offerId);
    }

    function test_cancelOffer_revertsWhenUnknownOffer() public {
        vm.expectRevert(abi.encodeWithSelector(IFinancing.UnknownOffer.selector, 3));
        vm.prank(bank);
        financing.cancelOffer(3);
    }

    function test_cancelOffer_revertsWhenNotFinancier() public {
        uint256 offerId = _offer(PART, false);
        vm.expectRevert(abi.encodeWithSelector(IFinancing.NotOfferFinancier.selector, offerId, bank2));
        vm.prank(bank2);
        financing.cancelOffer(offerId);
        vm.expectRevert(abi.encodeWithSelector(IFinancing.NotOfferFinancier.selector, offerId, supplier));
        vm.prank(supplier);
        financing.cancelOffer(offerId);
    }

    function test_cancelOffer_revertsWhenAlreadyCancelled() public {
        uint256 offerId = _offer(PART, false);
        vm.prank(bank);
        financing.cancelOffer(offerId);
        vm.expectRevert(
            abi.encodeWithSelector(IFinancing.OfferNotOpen.selector, offerId, IFinancing.OfferStatus.Cancelled)
        );
        vm.prank(bank);
        financing.cancelOffer(offerId);
    }

    function test_cancelOffer_revertsWhenAccepted() public {
        uint256 offerId = _offer(PART, false);
        _acceptOffer(offerId);
        vm.expectRevert(
            abi.encodeWithSelector(IFinancing.OfferNotOpen.selector, offerId, IFinancing.OfferStatus.Accepted)
        );
        vm.prank(bank);
        financing.cancelOffer(offerId);
    }

    function test_cancelOffer_revertsWhenPaused() public {
        uint256 offerId = _offer(PART, false);
        _pause();
        vm.expectRevert(LedgerAccess.EnforcedPause.selector);
        vm.prank(bank);
        financing.cancelOffer(offerId);
    }

    // ================================================================== acceptOffer

    function test_acceptOffer_fullNoteTransfersWholeNote() public {
        uint256 offerId = _offer(uint96(FACE), false);
        uint256 price = financing.priceOf(FACE, RATE, maturity - block.timestamp);
        assertEq(price, _price(FACE, RATE, TENOR));
        assertEq(financing.quote(offerId), price);
        uint256 bankBefore = cash.balanceOf(bank);
        uint256 countBefore = notes.noteCount();

        vm.expectEmit(address(financing));
        emit IFinancing.OfferAccepted(offerId, 1, note, supplierId, uint96(FACE), uint96(price));
        uint256 purchaseId = _acceptOffer(offerId);

        assertEq(purchaseId, 1);
        assertEq(notes.noteCount(), countBefore);
        assertEq(notes.ownerOf(note), bank);
        assertEq(notes.note(note).value, FACE);
        assertEq(cash.balanceOf(supplier), price);
        assertEq(cash.balanceOf(bank), bankBefore - price);
        assertEq(uint8(financing.offer(offerId).status), uint8(IFinancing.OfferStatus.Accepted));
        IFinancing.Purchase memory p = financing.purchase(purchaseId);
        assertEq(p.sellerId, supplierId);
        assertEq(p.financierId, bankId);
        assertFalse(p.recourse);
        assertEq(uint8(p.recourseStatus), uint8(IFinancing.RecourseStatus.None));
        assertEq(p.value, FACE);
        assertEq(p.price, price);
        assertEq(p.noteId, note);
        assertEq(p.offerId, offerId);
        assertEq(p.recourseAmount, 0);
    }

    function test_acceptOffer_partialSplitsNote() public {
        uint256 offerId = _offer(PART, true);
        vm.warp(block.timestamp + 12 hours);
        uint256 price = _price(PART, RATE, maturity - block.timestamp);
        uint256 bankBefore = cash.balanceOf(bank);

        vm.expectEmit(address(notes));
        emit IReceivableNotes.NoteSplit(note, 2, slot, PART);
        vm.expectEmit(address(financing));
        emit IFinancing.OfferAccepted(offerId, 1, 2, supplierId, PART, uint96(price));
        uint256 purchaseId = _acceptOffer(offerId);

        assertEq(notes.noteCount(), 2);
        assertEq(notes.ownerOf(2), bank);
        assertEq(notes.note(2).value, PART);
        assertEq(notes.note(2).slotId, slot);
        assertEq(notes.parentOf(2), note);
        assertEq(notes.ownerOf(note), supplier);
        assertEq(notes.note(note).value, FACE - PART);
        assertEq(cash.balanceOf(supplier), price);
        assertEq(cash.balanceOf(bank), bankBefore - price);
        IFinancing.Purchase memory p = financing.purchase(purchaseId);
        assertTrue(p.recourse);
        assertEq(p.noteId, 2);
        assertEq(p.value, PART);
        assertEq(p.price, price);
    }

    function test_acceptOffer_atExpiry() public {
        uint256 offerId = _offer(PART, false);
        vm.warp(financing.offer(offerId).expiry);
        _acceptOffer(offerId);
        assertEq(notes.ownerOf(2), bank);
    }

    function test_acceptOffer_revertsWhenExpired() public {
        uint256 offerId = _offer(PART, false);
        uint64 expiry = financing.offer(offerId).expiry;
        vm.warp(uint256(expiry) + 1);
        vm.expectRevert(abi.encodeWithSelector(IFinancing.OfferExpired.selector, offerId, expiry));
        _acceptOffer(offerId);
    }

    function test_acceptOffer_revertsWhenUnknownOffer() public {
        vm.expectRevert(abi.encodeWithSelector(IFinancing.UnknownOffer.selector, 1));
        _acceptOffer(1);
    }

    function test_acceptOffer_revertsWhenAlreadyAccepted() public {
        uint256 offerId = _offer(PART, false);
        _acceptOffer(offerId);
        vm.expectRevert(
            abi.encodeWithSelector(IFinancing.OfferNotOpen.selector, offerId, IFinancing.OfferStatus.Accepted)
        );
        _acceptOffer(offerId);
    }

    function test_acceptOffer_revertsWhenNotNoteHolder() public {
        uint256 offerId = _offer(PART, false);
        vm.expectRevert(abi.encodeWithSelector(IFinancing.NotNoteHolder.selector, note, supplier2));
        vm.prank(supplier2);
        financing.acceptOffer(offerId);
    }

    function test_acceptOffer_revertsWhenNoteMovedAway() public {
        uint256 offerId = _offer(PART, false);
        vm.prank(supplier);
        notes.transferFrom(supplier, supplier2, note);
        vm.expectRevert(abi.encodeWithSelector(IFinancing.NotNoteHolder.selector, note, supplier));
        _acceptOffer(offerId);
    }

    function test_acceptOffer_revertsWhenCallerOutsider() public {
        uint256 offerId = _offer(PART, false);
        vm.expectRevert(abi.encodeWithSelector(IMemberRegistry.NotAMember.selector, outsider));
        vm.prank(outsider);
        financing.acceptOffer(offerId);
    }

    function test_acceptOffer_revertsWhenNoteValueShrank() public {
        uint256 offerId = _offer(60_000_00, false);
        _split(supplier, note, supplier2, 50_000_00);
        vm.expectRevert(
            abi.encodeWithSelector(IReceivableNotes.InsufficientValue.selector, note, 50_000_00, 60_000_00)
        );
        _acceptOffer(offerId);
    }

    function test_acceptOffer_revertsWhenNoteLocked() public {
        uint256 offerId = _offer(PART, false);
        vm.prank(supplier);
        notes.lock(note, bank2);
        uint256 supplierCash = cash.balanceOf(supplier);
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.NoteIsLocked.selector, note, bank2Id));
        _acceptOffer(offerId);
        assertEq(cash.balanceOf(supplier), supplierCash);
    }

    function test_acceptOffer_revertsWhenFullNoteLocked() public {
        uint256 offerId = _offer(uint96(FACE), false);
        vm.prank(supplier);
        notes.lock(note, bank);
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.NoteIsLocked.selector, note, bankId));
        _acceptOffer(offerId);
    }

    function test_acceptOffer_revertsWhenSlotMatured() public {
        vm.prank(bank);
        uint256 offerId = financing.makeOffer(note, PART, RATE, false, uint64(maturity + 10 days));
        vm.warp(maturity);
        assertEq(financing.quote(offerId), 0);
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.SlotMatured.selector, slot, maturity));
        _acceptOffer(offerId);
    }

    function test_acceptOffer_revertsWhenFinancierSuspended() public {
        uint256 offerId = _offer(PART, false);
        vm.prank(operator);
        registry.suspend(bankId);
        vm.expectRevert(
            abi.encodeWithSelector(IMemberRegistry.MemberNotActive.selector, bank, IMemberRegistry.Status.Suspended)
        );
        _acceptOffer(offerId);
    }

    function test_acceptOffer_revertsWhenPaused() public {
        uint256 offerId = _offer(PART, false);
        _pause();
        vm.expectRevert(LedgerAccess.EnforcedPause.selector);
        _acceptOffer(offerId);
    }

    function test_quote_tracksTimeAndStatus() public {
        uint256 offerId = _offer(PART, false);
        assertEq(financing.quote(offerId), _price(PART, RATE, TENOR));
        vm.warp(block.timestamp + 1);
        // 90 days minus one second still counts as 90 days
        assertEq(financing.quote(offerId), _price(PART, RATE, TENOR));
        vm.warp(block.timestamp + 1 days);
        assertEq(financing.quote(offerId), _price(PART, RATE, TENOR - 1 days - 1));
        assertGt(financing.quote(offerId), _price(PART, RATE, TENOR));
        vm.prank(bank);
        financing.cancelOffer(offerId);
        vm.expectRevert(
            abi.encodeWithSelector(IFinancing.OfferNotOpen.selector, offerId, IFinancing.OfferStatus.Cancelled)
        );
        financing.quote(offerId);
        vm.expectRevert(abi.encodeWithSelector(IFinancing.UnknownOffer.selector, 2));
        financing.quote(2);
    }

    function testFuzz_acceptOffer_conservesValueAndCash(uint96 value, uint32 rate, uint256 elapsed) public {
        uint256 minimum = notes.minNoteValue(slot); // S-3: face / cap
        value = uint96(bound(value, minimum, FACE));
        if (FACE - value < minimum) value = uint96(FACE); // remainder must be 0 or >= the minimum note value
        rate = uint32(bound(rate, 0, 10_000));
        elapsed = bound(elapsed, 0, TENOR - 1);
        vm.prank(bank);
        uint256 offerId = financing.makeOffer(note, value, rate, true, uint64(block.timestamp + TENOR));
        vm.warp(block.timestamp + elapsed);

        uint256 cashBefore = cash.balanceOf(supplier) + cash.balanceOf(bank);
        uint256 bankBefore = cash.balanceOf(bank);
        uint256 expected = _price(value, rate, maturity - block.timestamp);
        uint256 purchaseId = _acceptOffer(offerId);

        IFinancing.Purchase memory p = financing.purchase(purchaseId);
        assertEq(p.price, expected);
        assertLe(p.price, p.value);
        assertEq(cash.balanceOf(supplier) + cash.balanceOf(bank), cashBefore);
        assertEq(cash.balanceOf(supplier), expected);
        assertEq(bankBefore - cash.balanceOf(bank), expected);
        assertEq(notes.ownerOf(p.noteId), bank);
        assertEq(notes.note(p.noteId).value, value);
        uint256 total = notes.note(p.noteId).value;
        if (p.noteId != note) {
            assertEq(notes.ownerOf(note), supplier);
            total += notes.note(note).value;
        } else {
            assertEq(value, FACE);
        }
        assertEq(total, FACE);
        assertEq(notes.receivable(slot).faceValue, FACE);
    }

    function test_acceptOffer_zeroPriceMovesNoCash() public {
        vm.prank(core);
        (, uint256 yearNote) =
            notes.issue(supplier, FACE, address(cash), uint64(block.timestamp + 365 days), keccak256("inv-year"));
        vm.prank(bank);
        uint256 offerId = financing.makeOffer(yearNote, uint96(FACE), 10_000, false, uint64(block.timestamp + 1));
        assertEq(financing.quote(offerId), 0);
        uint256 bankBefore = cash.balanceOf(bank);
        uint256 purchaseId = _acceptOffer(offerId);
        assertEq(financing.purchase(purchaseId).price, 0);
        assertEq(notes.ownerOf(yearNote), bank);
        assertEq(cash.balanceOf(bank), bankBefore);
        assertEq(cash.balanceOf(supplier), 0);
    }

    function test_acceptOffer_revertsWhenFinancierLacksCash() public {
        address poorBank = makeAddr("poorBank");
        vm.prank(operator);
        uint32 poorId = registry.admit(poorBank, Roles.FINANCIER, keccak256("kyc-poor"), 11, 0);
        vm.prank(poorBank);
        uint256 offerId = financing.makeOffer(note, PART, RATE, false, uint64(block.timestamp + 1 days));
        uint256 price = financing.quote(offerId);
        vm.expectRevert(abi.encodeWithSelector(IERC20Errors.ERC20InsufficientBalance.selector, poorBank, 0, price));
        _acceptOffer(offerId);
        // delivery versus payment: nothing moved
        assertEq(notes.noteCount(), 1);
        assertEq(notes.note(note).value, FACE);
        assertEq(notes.ownerOf(note), supplier);
        assertEq(uint8(financing.offer(offerId).status), uint8(IFinancing.OfferStatus.Open));
        assertEq(poorId, registry.memberIdOf(poorBank));
    }

    // ================================================================== recourse

    function test_claimRecourse_afterDefault() public {
        (uint256 purchaseId, uint256 bought) = _defaultedPurchase(true, 30_000_00);
        assertEq(uint8(notes.receivable(slot).status), uint8(IReceivableNotes.SlotStatus.Defaulted));
        vm.expectEmit(address(financing));
        emit IFinancing.RecourseClaimed(purchaseId, bought, PART);
        vm.prank(bank);
        uint256 amount = financing.claimRecourse(purchaseId);
        assertEq(amount, PART);
        IFinancing.Purchase memory p = financing.purchase(purchaseId);
        assertEq(uint8(p.recourseStatus), uint8(IFinancing.RecourseStatus.Claimed));
        assertEq(p.recourseAmount, PART);
        // nothing moves on a claim
        assertEq(notes.ownerOf(bought), bank);
    }

    function test_payRecourse_movesCashAndNoteBack() public {
        (uint256 purchaseId, uint256 bought) = _defaultedPurchase(true, 0);
        vm.prank(bank);
        financing.claimRecourse(purchaseId);
        _fundSupplier(PART);
        uint256 supplierBefore = cash.balanceOf(supplier);
        uint256 bankBefore = cash.balanceOf(bank);

        vm.expectEmit(address(financing));
        emit IFinancing.RecoursePaid(purchaseId, bought, PART);
        vm.prank(supplier);
        financing.payRecourse(purchaseId);

        assertEq(cash.balanceOf(supplier), supplierBefore - PART);
        assertEq(cash.balanceOf(bank), bankBefore + PART);
        assertEq(notes.ownerOf(bought), supplier);
        assertEq(notes.note(bought).value, PART);
        assertEq(uint8(financing.purchase(purchaseId).recourseStatus), uint8(IFinancing.RecourseStatus.Paid));
    }

    function test_payRecourse_sellerThenClaimsDefaultedFunds() public {
        (uint256 purchaseId, uint256 bought) = _defaultedPurchase(true, 50_000_00);
        vm.prank(bank);
        financing.claimRecourse(purchaseId);
        _fundSupplier(PART);
        vm.prank(supplier);
        financing.payRecourse(purchaseId);
        uint256 before = cash.balanceOf(supplier);
        // seller now holds both notes: 50% funded -> half of the face value
        settlement.claimDefaulted(slot, _ids(note, bought));
        assertEq(cash.balanceOf(supplier), before + 50_000_00);
    }

    function test_claimRecourse_revertsWhenNoRecourse() public {
        (uint256 purchaseId,) = _defaultedPurchase(false, 0);
        vm.expectRevert(abi.encodeWithSelector(IFinancing.NoRecourse.selector, purchaseId));
        vm.prank(bank);
        financing.claimRecourse(purchaseId);
    }

    function test_claimRecourse_revertsWhenNotFinancier() public {
        (uint256 purchaseId,) = _defaultedPurchase(true, 0);
        vm.expectRevert(abi.encodeWithSelector(IFinancing.NotPurchaseFinancier.selector, purchaseId, bank2));
        vm.prank(bank2);
        financing.claimRecourse(purchaseId);
    }

    function test_claimRecourse_revertsWhenSlotNotDefaulted() public {
        uint256 purchaseId = _acceptOffer(_offer(PART, true));
        vm.expectRevert(
            abi.encodeWithSelector(IFinancing.SlotNotDefaulted.selector, slot, IReceivableNotes.SlotStatus.Active)
        );
        vm.prank(bank);
        financing.claimRecourse(purchaseId);
        // still not defaulted after maturity, before markDefault
        vm.warp(uint256(maturity) + 8 days);
        vm.expectRevert(
            abi.encodeWithSelector(IFinancing.SlotNotDefaulted.selector, slot, IReceivableNotes.SlotStatus.Active)
        );
        vm.prank(bank);
        financing.claimRecourse(purchaseId);
    }

    function test_claimRecourse_revertsWhenAlreadyClaimed() public {
        (uint256 purchaseId,) = _defaultedPurchase(true, 0);
        vm.prank(bank);
        financing.claimRecourse(purchaseId);
        vm.expectRevert(
            abi.encodeWithSelector(
                IFinancing.InvalidRecourseState.selector, purchaseId, IFinancing.RecourseStatus.Claimed
            )
        );
        vm.prank(bank);
        financing.claimRecourse(purchaseId);
    }

    function test_claimRecourse_revertsWhenAlreadyPaid() public {
        (uint256 purchaseId,) = _defaultedPurchase(true, 0);
        vm.prank(bank);
        financing.claimRecourse(purchaseId);
        _fundSupplier(PART);
        vm.prank(supplier);
        financing.payRecourse(purchaseId);
        vm.expectRevert(
            abi.encodeWithSelector(IFinancing.InvalidRecourseState.selector, purchaseId, IFinancing.RecourseStatus.Paid)
        );
        vm.prank(bank);
        financing.claimRecourse(purchaseId);
    }

    function test_claimRecourse_revertsWhenNoteNoLongerHeld() public {
        uint256 purchaseId = _acceptOffer(_offer(PART, true));
        uint256 bought = financing.purchase(purchaseId).noteId;
        vm.prank(bank);
        notes.transferFrom(bank, bank2, bought);
        vm.warp(uint256(maturity) + 7 days);
        settlement.markDefault(slot);
        vm.expectRevert(abi.encodeWithSelector(IFinancing.NoteNoLongerHeld.selector, bought, bank2Id));
        vm.prank(bank);
        financing.claimRecourse(purchaseId);
    }

    function test_claimRecourse_revertsWhenUnknownPurchase() public {
        vm.expectRevert(abi.encodeWithSelector(IFinancing.UnknownPurchase.selector, 5));
        vm.prank(bank);
        financing.claimRecourse(5);
    }

    function test_claimRecourse_revertsWhenPaused() public {
        (uint256 purchaseId,) = _defaultedPurchase(true, 0);
        _pause();
        vm.expectRevert(LedgerAccess.EnforcedPause.selector);
        vm.prank(bank);
        financing.claimRecourse(purchaseId);
    }

    function test_payRecourse_revertsWhenNotClaimed() public {
        (uint256 purchaseId,) = _defaultedPurchase(true, 0);
        vm.expectRevert(
            abi.encodeWithSelector(IFinancing.InvalidRecourseState.selector, purchaseId, IFinancing.RecourseStatus.None)
        );
        vm.prank(supplier);
        financing.payRecourse(purchaseId);
    }

    function test_payRecourse_revertsWhenAlreadyPaid() public {
        (uint256 purchaseId,) = _defaultedPurchase(true, 0);
        vm.prank(bank);
        financing.claimRecourse(purchaseId);
        _fundSupplier(PART);
        vm.prank(supplier);
        financing.payRecourse(purchaseId);
        vm.expectRevert(
            abi.encodeWithSelector(IFinancing.InvalidRecourseState.selector, purchaseId, IFinancing.RecourseStatus.Paid)
        );
        vm.prank(supplier);
        financing.payRecourse(purchaseId);
    }

    function test_payRecourse_revertsWhenNotSeller() public {
        (uint256 purchaseId,) = _defaultedPurchase(true, 0);
        vm.prank(bank);
        financing.claimRecourse(purchaseId);
        vm.expectRevert(abi.encodeWithSelector(IFinancing.NotSeller.selector, purchaseId, bank2));
        vm.prank(bank2);
        financing.payRecourse(purchaseId);
        vm.expectRevert(abi.encodeWithSelector(IFinancing.NotSeller.selector, purchaseId, bank));
        vm.prank(bank);
        financing.payRecourse(purchaseId);
    }

    function test_payRecourse_revertsWhenSellerLacksCash() public {
        (uint256 purchaseId, uint256 bought) = _defaultedPurchase(true, 0);
        vm.prank(bank);
        financing.claimRecourse(purchaseId);
        uint256 price = financing.purchase(purchaseId).price;
        assertEq(cash.balanceOf(supplier), price);
        vm.expectRevert(abi.encodeWithSelector(IERC20Errors.ERC20InsufficientBalance.selector, supplier, price, PART));
        vm.prank(supplier);
        financing.payRecourse(purchaseId);
        assertEq(notes.ownerOf(bought), bank);
        assertEq(uint8(financing.purchase(purchaseId).recourseStatus), uint8(IFinancing.RecourseStatus.Claimed));
    }

    function test_payRecourse_revertsWhenUnknownPurchase() public {
        vm.expectRevert(abi.encodeWithSelector(IFinancing.UnknownPurchase.selector, 1));
        vm.prank(supplier);
        financing.payRecourse(1);
    }

    function test_payRecourse_revertsWhenPaused() public {
        (uint256 purchaseId,) = _defaultedPurchase(true, 0);
        vm.prank(bank);
        financing.claimRecourse(purchaseId);
        _pause();
        vm.expectRevert(LedgerAccess.EnforcedPause.selector);
        vm.prank(supplier);
        financing.payRecourse(purchaseId);
    }

    // ================================================================== lend

    function test_lend_paysPrincipalToHolder() public {
        uint256 orderId = _pledgedOrder();
        uint64 due = uint64(block.timestamp + LOAN_TERM);
        uint256 bankBefore = cash.balanceOf(bank);
        vm.expectEmit(address(financing));
        emit IFinancing.LoanOpened(1, orderId, bankId, supplierId, PRINCIPAL, LOAN_RATE, due);
        vm.prank(bank);
        uint256 loanId = financing.lend(orderId, PRINCIPAL, LOAN_RATE, due);
        assertEq(loanId, 1);
        assertEq(cash.balanceOf(supplier), PRINCIPAL);
        assertEq(cash.balanceOf(bank), bankBefore - PRINCIPAL);
        assertEq(financing.loanOfOrder(orderId), loanId);
        IFinancing.Loan memory l = financing.loan(loanId);
        assertEq(l.financierId, bankId);
        assertEq(l.borrowerId, supplierId);
        assertEq(uint8(l.status), uint8(IFinancing.LoanStatus.Active));
        assertEq(l.rateBps, LOAN_RATE);
        assertEq(l.startedAt, block.timestamp);
        assertEq(l.dueDate, due);
        assertEq(l.principal, PRINCIPAL);
        assertEq(l.orderId, orderId);
        assertEq(financing.amountOwed(loanId), PRINCIPAL + 685); // at least one day of interest
    }

    function test_lend_atMaxAdvanceOnDeliveredOrder() public {
        uint256 orderId = _pledgedOrder();
        vm.prank(supplier);
        orders.deliver(orderId);
        uint96 max = uint96(uint256(FACE) * 9_000 / 10_000);
        _lend(orderId, max);
        assertEq(cash.balanceOf(supplier), max);
    }

    function test_lend_revertsWhenAdvanceExceeded() public {
        uint256 orderId = _pledgedOrder();
        uint256 max = uint256(FACE) * 9_000 / 10_000;
        vm.expectRevert(abi.encodeWithSelector(IFinancing.AdvanceExceeded.selector, orderId, max + 1, max));
        _lend(orderId, uint96(max + 1));
    }

    function test_lend_revertsWhenPrincipalZero() public {
        uint256 orderId = _pledgedOrder();
        uint256 max = uint256(FACE) * 9_000 / 10_000;
        vm.expectRevert(abi.encodeWithSelector(IFinancing.AdvanceExceeded.selector, orderId, 0, max));
        _lend(orderId, 0);
    }

    function test_lend_revertsWhenPledgedToAnother() public {
        uint256 orderId = _pledgedOrder();
        vm.expectRevert(abi.encodeWithSelector(IFinancing.OrderNotPledgedTo.selector, orderId, bankId, bank2Id));
        vm.prank(bank2);
        financing.lend(orderId, PRINCIPAL, LOAN_RATE, uint64(block.timestamp + LOAN_TERM));
    }

    function test_lend_revertsWhenNotPledged() public {
        uint256 orderId = _confirmedOrder(FACE);
        vm.expectRevert(abi.encodeWithSelector(IFinancing.OrderNotPledgedTo.selector, orderId, 0, bankId));
        _lend(orderId, PRINCIPAL);
    }

    function test_lend_revertsWhenLoanExists() public {
        uint256 orderId = _pledgedOrder();
        uint256 loanId = _lend(orderId, PRINCIPAL);
        vm.expectRevert(abi.encodeWithSelector(IFinancing.LoanExists.selector, orderId, loanId));
        _lend(orderId, 10_000_00);
    }

    function test_lend_revertsWhenOrderInvoiced() public {
        uint256 orderId = _pledgedOrder();
        _invoice(orderId, FACE);
        vm.expectRevert(
            abi.encodeWithSelector(IFinancing.OrderNotFinanceable.selector, orderId, IOrderBook.OrderStatus.Invoiced)
        );
        _lend(orderId, PRINCIPAL);
    }

    function test_lend_revertsWhenUnknownOrder() public {
        vm.expectRevert(abi.encodeWithSelector(IOrderBook.UnknownOrder.selector, 42));
        _lend(42, PRINCIPAL);
    }

    function test_lend_revertsWhenDueDateNotInFuture() public {
        uint256 orderId = _pledgedOrder();
        uint64 due = uint64(block.timestamp);
        vm.expectRevert(abi.encodeWithSelector(IFinancing.InvalidDueDate.selector, due));
        vm.prank(bank);
        financing.lend(orderId, PRINCIPAL, LOAN_RATE, due);
    }

    function test_lend_revertsWhenRateTooHigh() public {
        uint256 orderId = _pledgedOrder();
        vm.expectRevert(abi.encodeWithSelector(IFinancing.InvalidRate.selector, 10_001));
        vm.prank(bank);
        financing.lend(orderId, PRINCIPAL, 10_001, uint64(block.timestamp + LOAN_TERM));
    }

    function test_lend_revertsWhenNotFinancier() public {
        uint256 orderId = _pledgedOrder();
        vm.expectRevert(
            abi.encodeWithSelector(IMemberRegistry.MissingRole.selector, supplier, Roles.FINANCIER, Roles.SUPPLIER)
        );
        vm.prank(supplier);
        financing.lend(orderId, PRINCIPAL, LOAN_RATE, uint64(block.timestamp + LOAN_TERM));
    }

    function test_lend_revertsWhenBorrowerSuspended() public {
        uint256 orderId = _pledgedOrder();
        vm.prank(operator);
        registry.suspend(supplierId);
        vm.expectRevert(
            abi.encodeWithSelector(IMemberRegistry.MemberNotActive.selector, supplier, IMemberRegistry.Status.Suspended)
        );
        _lend(orderId, PRINCIPAL);
    }

    function test_lend_revertsWhenPaused() public {
        uint256 orderId = _pledgedOrder();
        _pause();
        vm.expectRevert(LedgerAccess.EnforcedPause.selector);
        _lend(orderId, PRINCIPAL);
    }

    // ================================================================== setMaxAdvanceBps

    function test_setMaxAdvanceBps_lowersAdvance() public {
        assertEq(financing.maxAdvanceBps(), 9_000);
        vm.expectEmit(address(financing));
        emit IFinancing.MaxAdvanceSet(5_000);
        vm.prank(operator);
        financing.setMaxAdvanceBps(5_000);
        assertEq(financing.maxAdvanceBps(), 5_000);
        uint256 orderId = _pledgedOrder();
        uint256 max = uint256(FACE) / 2;
        vm.expectRevert(abi.encodeWithSelector(IFinancing.AdvanceExceeded.selector, orderId, max + 1, max));
        _lend(orderId, uint96(max + 1));
        _lend(orderId, uint96(max));
    }

    function test_setMaxAdvanceBps_revertsWhenNotOperator() public {
        vm.expectRevert(abi.encodeWithSelector(LedgerAccess.NotOperator.selector, bank));
        vm.prank(bank);
        financing.setMaxAdvanceBps(5_000);
    }

    function test_setMaxAdvanceBps_revertsWhenOutOfRange() public {
        vm.expectRevert(abi.encodeWithSelector(IFinancing.InvalidAdvanceRate.selector, 0));
        vm.prank(operator);
        financing.setMaxAdvanceBps(0);
        vm.expectRevert(abi.encodeWithSelector(IFinancing.InvalidAdvanceRate.selector, 9_001));
        vm.prank(operator);
        financing.setMaxAdvanceBps(9_001);
        vm.prank(operator);
        financing.setMaxAdvanceBps(9_000);
        vm.prank(operator);
        financing.setMaxAdvanceBps(1);
        assertEq(financing.maxAdvanceBps(), 1);
    }

    // ================================================================== repay

    function test_repay_beforeInvoicingReleasesOrderLien() public {
        uint256 orderId = _pledgedOrder();
        uint256 loanId = _lend(orderId, PRINCIPAL);
        vm.warp(block.timestamp + 10 days);
        uint256 interest = _interest(PRINCIPAL, LOAN_RATE, 10 days);
        assertEq(interest, 6850);
        assertEq(financing.amountOwed(loanId), PRINCIPAL + interest);
        _fundSupplier(interest);
        uint256 bankBefore = cash.balanceOf(bank);

        vm.expectEmit(address(orders));
        emit IOrderBook.OrderReleased(orderId, bankId);
        vm.expectEmit(address(financing));
        emit IFinancing.LoanRepaid(loanId, PRINCIPAL, interest);
        vm.prank(supplier);
        financing.repay(loanId);

        assertEq(cash.balanceOf(supplier), 0);
        assertEq(cash.balanceOf(bank), bankBefore + PRINCIPAL + interest);
        assertEq(orders.lienholderOf(orderId), 0);
        assertEq(uint8(financing.loan(loanId).status), uint8(IFinancing.LoanStatus.Repaid));
        // the order is free again: the supplier can transfer it
        vm.prank(supplier);
        orders.transferFrom(supplier, supplier2, orderId);
    }

    function test_repay_afterInvoicingReleasesNoteLock() public {
        uint256 orderId = _pledgedOrder();
        uint256 loanId = _lend(orderId, PRINCIPAL);
        (, uint256 orderNote) = _invoice(orderId, FACE);
        assertEq(notes.lienholderOf(orderNote), bankId);
        vm.warp(block.timestamp + 1 days + 1);
        uint256 interest = _interest(PRINCIPAL, LOAN_RATE, 1 days + 1); // 2 days
        assertEq(interest, 1370);
        _fundSupplier(interest);
        uint256 bankBefore = cash.balanceOf(bank);

        vm.expectEmit(address(notes));
        emit IReceivableNotes.NoteReleased(orderNote, bankId);
        vm.prank(supplier);
        financing.repay(loanId);

        assertEq(cash.balanceOf(bank), bankBefore + PRINCIPAL + interest);
        assertEq(notes.lienholderOf(orderNote), 0);
        assertEq(orders.lienholderOf(orderId), 0);
        // the note is free: the supplier can sell part of it
        _split(supplier, orderNote, supplier2, 10_000_00);
        assertEq(notes.note(orderNote).value, FACE - 10_000_00);
    }

    function test_repay_immediatelyChargesOneDay() public {
        uint256 orderId = _pledgedOrder();
        uint256 loanId = _lend(orderId, PRINCIPAL);
        _fundSupplier(685);
        vm.expectEmit(address(financing));
        emit IFinancing.LoanRepaid(loanId, PRINCIPAL, 685);
        vm.prank(supplier);
        financing.repay(loanId);
        assertEq(cash.balanceOf(supplier), 0);
    }

    function test_repay_afterLienReleasedByFinancier() public {
        uint256 orderId = _pledgedOrder();
        uint256 loanId = _lend(orderId, PRINCIPAL);
        vm.prank(bank);
        orders.release(orderId);
        vm.warp(block.timestamp + 1);
        _fundSupplier(685);
        vm.prank(supplier);
        financing.repay(loanId);
        assertEq(uint8(financing.loan(loanId).status), uint8(IFinancing.LoanStatus.Repaid));
        assertEq(cash.balanceOf(supplier), 0);
    }

    function test_repay_revertsWhenNotBorrower() public {
        uint256 orderId = _pledgedOrder();
        uint256 loanId = _lend(orderId, PRINCIPAL);
        vm.expectRevert(abi.encodeWithSelector(IFinancing.NotBorrower.selector, loanId, bank2));
        vm.prank(bank2);
        financing.repay(loanId);
    }

    function test_repay_revertsWhenUnknownLoan() public {
        vm.expectRevert(abi.encodeWithSelector(IFinancing.UnknownLoan.selector, 1));
        vm.prank(supplier);
        financing.repay(1);
        vm.expectRevert(abi.encodeWithSelector(IFinancing.UnknownLoan.selector, 1));
        financing.amountOwed(1);
        vm.expectRevert(abi.encodeWithSelector(IFinancing.UnknownLoan.selector, 1));
        financing.loan(1);
    }

    function test_repay_revertsWhenAlreadyRepaid() public {
        uint256 orderId = _pledgedOrder();
        uint256 loanId = _lend(orderId, PRINCIPAL);
        _fundSupplier(685);
        vm.prank(supplier);
        financing.repay(loanId);
        vm.expectRevert(
            abi.encodeWithSelector(IFinancing.LoanNotActive.selector, loanId, IFinancing.LoanStatus.Repaid)
        );
        vm.prank(supplier);
        financing.repay(loanId);
        vm.expectRevert(
            abi.encodeWithSelector(IFinancing.LoanNotActive.selector, loanId, IFinancing.LoanStatus.Repaid)
        );
        financing.amountOwed(loanId);
    }

    function test_repay_revertsWhenPaused() public {
        uint256 orderId = _pledgedOrder();
        uint256 loanId = _lend(orderId, PRINCIPAL);
        _pause();
        vm.expectRevert(LedgerAccess.EnforcedPause.selector);
        vm.prank(supplier);
        financing.repay(loanId);
    }

    // ================================================================== foreclose

    function test_foreclose_takesExactlyOwedAndUnlocksRest() public {
        uint256 orderId = _pledgedOrder();
        uint256 loanId = _lend(orderId, PRINCIPAL);
        (, uint256 orderNote) = _invoice(orderId, FACE);
        vm.warp(block.timestamp + LOAN_TERM + 1);
        uint256 owed = PRINCIPAL + _interest(PRINCIPAL, LOAN_RATE, LOAN_TERM + 1);
        assertEq(financing.amountOwed(loanId), owed);
        uint256 expectedNew = notes.noteCount() + 1;

        vm.expectEmit(address(financing));
        emit IFinancing.LoanForeclosed(loanId, orderNote, expectedNew, owed);
        vm.prank(bank);
        uint256 taken = financing.foreclose(loanId);

        assertEq(taken, expectedNew);
        assertEq(notes.ownerOf(taken), bank);
        assertEq(notes.note(taken).value, owed);
        assertEq(notes.lienholderOf(taken), 0);
        assertEq(notes.ownerOf(orderNote), supplier);
        assertEq(notes.note(orderNote).value, FACE - owed);
        assertEq(notes.lienholderOf(orderNote), 0);
        assertEq(orders.lienholderOf(orderId), 0);
        assertEq(uint8(financing.loan(loanId).status), uint8(IFinancing.LoanStatus.Foreclosed));
        // the rest is free to move
        vm.prank(supplier);
        notes.transferFrom(supplier, supplier2, orderNote);
        assertEq(notes.ownerOf(orderNote), supplier2);
    }

    function test_foreclose_takesWholeNoteWhenOwedAtLeastValue() public {
        uint256 orderId = _pledgedOrder();
        uint256 loanId = _lend(orderId, PRINCIPAL);
        (, uint256 orderNote) = _invoice(orderId, PRINCIPAL); // note worth exactly the principal
        vm.warp(block.timestamp + LOAN_TERM + 1);
        uint256 countBefore = notes.noteCount();

        vm.expectEmit(address(financing));
        emit IFinancing.LoanForeclosed(loanId, orderNote, orderNote, PRINCIPAL);
        vm.prank(bank);
        uint256 taken = financing.foreclose(loanId);

        assertEq(taken, orderNote);
        assertEq(notes.noteCount(), countBefore);
        assertEq(notes.ownerOf(orderNote), bank);
        assertEq(notes.note(orderNote).value, PRINCIPAL);
        assertEq(notes.lienholderOf(orderNote), 0);
        assertEq(orders.lienholderOf(orderId), 0);
    }

    function test_foreclose_owedEqualToNoteValueTakesWholeNote() public {
        uint256 orderId = _pledgedOrder();
        vm.prank(bank);
        uint256 loanId = financing.lend(orderId, PRINCIPAL, 0, uint64(block.timestamp + LOAN_TERM));
        (, uint256 orderNote) = _invoice(orderId, PRINCIPAL);
        vm.warp(block.timestamp + LOAN_TERM + 1);
        assertEq(financing.amountOwed(loanId), PRINCIPAL);
        vm.prank(bank);
        uint256 taken = financing.foreclose(loanId);
        assertEq(taken, orderNote);
        assertEq(notes.ownerOf(orderNote), bank);
    }

    function test_foreclose_afterNoteMaturity() public {
        uint256 orderId = _pledgedOrder();
        uint256 loanId = _lend(orderId, PRINCIPAL);
        (uint256 orderSlot, uint256 orderNote) = _invoice(orderId, FACE);
        vm.warp(notes.receivable(orderSlot).maturity + 1);
        uint256 owed = financing.amountOwed(loanId);
        vm.prank(bank);
        uint256 taken = financing.foreclose(loanId);
        assertEq(notes.note(taken).value, owed);
        assertEq(notes.note(orderNote).value, FACE - owed);
    }

    function test_foreclose_revertsWhenNotDue() public {
        uint256 orderId = _pledgedOrder();
        uint256 loanId = _lend(orderId, PRINCIPAL);
        _invoice(orderId, FACE);
        uint64 due = financing.loan(loanId).dueDate;
        vm.warp(due);
        vm.expectRevert(abi.encodeWithSelector(IFinancing.LoanNotDue.selector, loanId, due));
        vm.prank(bank);
        financing.foreclose(loanId);
    }

    function test_foreclose_revertsWhenNoReceivableYet() public {
        uint256 orderId = _pledgedOrder();
        uint256 loanId = _lend(orderId, PRINCIPAL);
        vm.warp(block.timestamp + LOAN_TERM + 1);
        vm.expectRevert(abi.encodeWithSelector(IFinancing.NoReceivableYet.selector, orderId));
        vm.prank(bank);
        financing.foreclose(loanId);
    }

    function test_foreclose_revertsWhenNotFinancier() public {
        uint256 orderId = _pledgedOrder();
        uint256 loanId = _lend(orderId, PRINCIPAL);
        _invoice(orderId, FACE);
        vm.warp(block.timestamp + LOAN_TERM + 1);
        vm.expectRevert(abi.encodeWithSelector(IFinancing.NotLoanFinancier.selector, loanId, bank2));
        vm.prank(bank2);
        financing.foreclose(loanId);
        vm.expectRevert(abi.encodeWithSelector(IFinancing.NotLoanFinancier.selector, loanId, supplier));
        vm.prank(supplier);
        financing.foreclose(loanId);
    }

    function test_foreclose_revertsWhenRepaid() public {
        uint256 orderId = _pledgedOrder();
        uint256 loanId = _lend(orderId, PRINCIPAL);
        _fundSupplier(685);
        vm.prank(supplier);
        financing.repay(loanId);
        vm.warp(block.timestamp + LOAN_TERM + 1);
        vm.expectRevert(
            abi.encodeWithSelector(IFinancing.LoanNotActive.selector, loanId, IFinancing.LoanStatus.Repaid)
        );
        vm.prank(bank);
        financing.foreclose(loanId);
    }

    function test_foreclose_revertsWhenAlreadyForeclosed() public {
        uint256 orderId = _pledgedOrder();
        uint256 loanId = _lend(orderId, PRINCIPAL);
        _invoice(orderId, FACE);
        vm.warp(block.timestamp + LOAN_TERM + 1);
        vm.prank(bank);
        financing.foreclose(loanId);
        vm.expectRevert(
            abi.encodeWithSelector(IFinancing.LoanNotActive.selector, loanId, IFinancing.LoanStatus.Foreclosed)
        );
        vm.prank(bank);
        financing.foreclose(loanId);
        vm.expectRevert(
            abi.encodeWithSelector(IFinancing.LoanNotActive.selector, loanId, IFinancing.LoanStatus.Foreclosed)
        );
        vm.prank(supplier);
        financing.repay(loanId);
    }

    function test_foreclose_revertsWhenPaused() public {
        uint256 orderId = _pledgedOrder();
        uint256 loanId = _lend(orderId, PRINCIPAL);
        _invoice(orderId, FACE);
        vm.warp(block.timestamp + LOAN_TERM + 1);
        _pause();
        vm.expectRevert(LedgerAccess.EnforcedPause.selector);
        vm.prank(bank);
        financing.foreclose(loanId);
    }

    // ================================================================== regressions (defects found by these tests)

    /// @dev A discount larger than the value prices the note at 0 instead of underflowing (maxTenor may be
    ///      raised to 5 years, rates go up to 100%).
    function test_acceptOffer_discountAboveValuePricesAtZero() public {
        vm.prank(operator);
        notes.setPolicy(100, 500, 730 days);
        vm.prank(core);
        (, uint256 longNote) =
            notes.issue(supplier, FACE, address(cash), uint64(block.timestamp + 730 days), keccak256("inv-long"));
        vm.prank(bank);
        uint256 offerId = financing.makeOffer(longNote, uint96(FACE), 10_000, false, uint64(block.timestamp + 1 days));
        assertEq(financing.quote(offerId), 0);
        assertEq(financing.priceOf(FACE, 10_000, 730 days), 0);
        assertEq(financing.priceOf(FACE, 10_000, 365 days), 0); // discount == value
        assertEq(financing.priceOf(FACE, 10_000, 364 days), FACE - (uint256(FACE) * 10_000 * 364) / 3_650_000);
        uint256 bankBefore = cash.balanceOf(bank);
        vm.prank(supplier);
        uint256 purchaseId = financing.acceptOffer(offerId);
        assertEq(financing.purchase(purchaseId).price, 0);
        assertEq(cash.balanceOf(bank), bankBefore);
        assertEq(notes.ownerOf(longNote), bank);
    }

    /// @dev The borrower can repay even when the order's note no longer exists (the financier released the note
    ///      lock and the receivable was settled).
    function test_repay_afterOrderNoteSettled() public {
        uint256 orderId = _pledgedOrder();
        uint256 loanId = _lend(orderId, PRINCIPAL);
        (uint256 orderSlot, uint256 orderNote) = _invoice(orderId, FACE);
        vm.prank(bank);
        notes.release(orderNote);
        vm.prank(core);
        settlement.fund(orderSlot, FACE);
        vm.warp(notes.receivable(orderSlot).maturity);
        settlement.settle(orderSlot, _ids(orderNote));
        assertEq(cash.balanceOf(supplier), PRINCIPAL + FACE);
        uint256 owed = PRINCIPAL + _interest(PRINCIPAL, LOAN_RATE, TENOR);
        uint256 bankBefore = cash.balanceOf(bank);
        vm.prank(supplier);
        financing.repay(loanId);
        assertEq(cash.balanceOf(bank), bankBefore + owed);
        assertEq(uint8(financing.loan(loanId).status), uint8(IFinancing.LoanStatus.Repaid));
    }

    /// @dev Foreclosure only takes collateral still locked to the financier, never a third party's note.
    function test_foreclose_revertsWhenCollateralReleased() public {
        uint256 orderId = _pledgedOrder();
        uint256 loanId = _lend(orderId, PRINCIPAL);
        (, uint256 orderNote) = _invoice(orderId, PRINCIPAL);
        vm.prank(bank);
        notes.release(orderNote);
        vm.prank(supplier);
        notes.transferFrom(supplier, supplier2, orderNote);
        vm.warp(block.timestamp + LOAN_TERM + 1);
        vm.expectRevert(abi.encodeWithSelector(IFinancing.CollateralReleased.selector, loanId, orderNote));
        vm.prank(bank);
        financing.foreclose(loanId);
        assertEq(notes.ownerOf(orderNote), supplier2);
    }

    /// @dev After a loan is repaid, the order can be pledged again and financed by a new loan.
    function test_lend_againAfterRepayment() public {
        uint256 orderId = _pledgedOrder();
        uint256 loanId = _lend(orderId, PRINCIPAL);
        _fundSupplier(685);
        vm.prank(supplier);
        financing.repay(loanId);
        vm.prank(supplier);
        orders.pledge(orderId, bank);
        uint256 second = _lend(orderId, PRINCIPAL);
        assertEq(second, loanId + 1);
        assertEq(financing.loanOfOrder(orderId), second);
    }
}
