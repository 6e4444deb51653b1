// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {ICashToken} from "../interfaces/ICashToken.sol";
import {IMemberRegistry} from "../interfaces/IMemberRegistry.sol";
import {IOrderBook} from "../interfaces/IOrderBook.sol";
import {IReceivableNotes} from "../interfaces/IReceivableNotes.sol";
import {IFinancing} from "../interfaces/IFinancing.sol";
import {IRecourseBook} from "../interfaces/IRecourseBook.sol";
import {LedgerAccess} from "../libraries/LedgerAccess.sol";
import {Roles} from "../libraries/Roles.sol";

/// @title Financing: factoring offers with atomic delivery-versus-payment, order-financing loans secured by a
///        lien, foreclosure, and recourse claims on defaulted receivables.
/// @notice Factoring price = value - floor(value * rateBps * days / 3,650,000), days = remaining seconds to
///         maturity / 86,400 rounded up. Loan interest = ceil(principal * rateBps * days / 3,650,000), days =
///         elapsed seconds / 86,400 rounded up, at least 1.
contract Financing is ReentrancyGuard, LedgerAccess, IFinancing {
    uint256 private constant BPS_DAYS = 365 * 10_000;
    uint32 public constant MAX_RATE_BPS = 10_000;
    uint256 private constant BPS = 10_000;
    /// @dev Default and highest advance rate of an order loan (90% of the order amount).
    uint16 private constant MAX_ADVANCE_BPS_LIMIT = 9_000;

    IReceivableNotes public immutable notes;
    IOrderBook public immutable orderBook;
    ICashToken public immutable cash;

    // First state variables: packed with LedgerAccess's pause flag in one storage word (ReentrancyGuard is
    // inherited first, so its status word comes before).
    uint64 private _offerCount;
    uint64 private _purchaseCount;
    uint64 private _loanCount;
    uint16 private _maxAdvanceBps = MAX_ADVANCE_BPS_LIMIT;
    mapping(uint256 offerId => Offer) private _offers;
    mapping(uint256 purchaseId => Purchase) private _purchases;
    mapping(uint256 loanId => Loan) private _loans;
    mapping(uint256 orderId => uint256) private _loanOfOrder;
    mapping(uint256 noteId => uint256) private _recoursePurchaseOf;

    constructor(IMemberRegistry registry_, IReceivableNotes notes_, IOrderBook orderBook_, ICashToken cash_)
        LedgerAccess(registry_)
    {
        if (address(notes_) == address(0) || address(orderBook_) == address(0) || address(cash_) == address(0)) {
            revert ZeroAddress();
        }
        notes = notes_;
        orderBook = orderBook_;
        cash = cash_;
        emit MaxAdvanceSet(MAX_ADVANCE_BPS_LIMIT);
    }

    // ================================================================== pricing

    /// @inheritdoc IFinancing
    function priceOf(uint256 value, uint256 rateBps, uint256 secondsToMaturity) public pure returns (uint256) {
        uint256 daysLeft = (secondsToMaturity + 1 days - 1) / 1 days;
        uint256 discount = (value * rateBps * daysLeft) / BPS_DAYS;
        return discount >= value ? 0 : value - discount;
    }

    /// @inheritdoc IFinancing
    function interestOf(uint256 principal, uint256 rateBps, uint256 elapsed) public pure returns (uint256) {
        uint256 daysElapsed = elapsed == 0 ? 1 : (elapsed + 1 days - 1) / 1 days;
        uint256 numerator = principal * rateBps * daysElapsed;
        return (numerator + BPS_DAYS - 1) / BPS_DAYS;
    }

    // ================================================================== factoring

    /// @inheritdoc IFinancing
    function makeOffer(uint256 noteId, uint96 value, uint32 rateBps, bool recourse, uint64 expiry)
        external
        whenNotPaused
        returns (uint256 offerId)
    {
        uint32 financierId = registry.requireActive(msg.sender, Roles.FINANCIER);
        IReceivableNotes.Note memory n = notes.note(noteId);
        if (n.holderId == financierId) revert SelfDealing(financierId);
        if (value == 0 || value > n.value) revert InvalidValue(value);
        if (rateBps > MAX_RATE_BPS) revert InvalidRate(rateBps);
        if (expiry <= block.timestamp) revert InvalidExpiry(expiry);
        IReceivableNotes.Receivable memory r = notes.receivable(n.slotId);
        if (r.cashToken != address(cash)) revert CurrencyMismatch(r.cashToken, address(cash));
        offerId = ++_offerCount;
        _offers[offerId] = Offer(financierId, OfferStatus.Open, recourse, rateBps, expiry, value, noteId);
        emit OfferMade(offerId, noteId, financierId, value, rateBps, recourse, expiry);
    }

    /// @inheritdoc IFinancing
    function cancelOffer(uint256 offerId) external whenNotPaused {
        Offer storage o = _openOffer(offerId);
        if (registry.accountOf(o.financierId) != msg.sender) revert NotOfferFinancier(offerId, msg.sender);
        o.status = OfferStatus.Cancelled;
        emit OfferCancelled(offerId);
    }

    /// @inheritdoc IFinancing
    function acceptOffer(uint256 offerId) external nonReentrant whenNotPaused returns (uint256 purchaseId) {
        Offer storage o = _openOffer(offerId);
        if (block.timestamp > o.expiry) revert OfferExpired(offerId, o.expiry);
        uint256 noteId = o.noteId;
        IReceivableNotes.Note memory n = notes.note(noteId);
        uint32 sellerId = registry.requireActive(msg.sender, Roles.HOLDER);
        if (n.holderId != sellerId) revert NotNoteHolder(noteId, msg.sender);
        address financier = registry.requireActiveId(o.financierId, Roles.FINANCIER);
        uint96 value = o.value;
        if (value > n.value) revert IReceivableNotes.InsufficientValue(noteId, n.value, value);
        uint64 maturity = notes.receivable(n.slotId).maturity;
        if (block.timestamp >= maturity) revert IReceivableNotes.SlotMatured(n.slotId, maturity);
        uint96 price = uint96(priceOf(value, o.rateBps, maturity - block.timestamp));

        // Effects before interactions: the offer is closed and the purchase recorded before any token moves
        // (a partial sale's note id is only known after the split; it is filled in right after).
        o.status = OfferStatus.Accepted;
        purchaseId = ++_purchaseCount;
        Purchase storage p = _purchases[purchaseId];
        p.sellerId = sellerId;
        p.financierId = o.financierId;
        p.recourse = o.recourse;
        p.value = value;
        p.price = price;
        p.offerId = offerId;
        uint256 bought = noteId;
        if (value == n.value) notes.ledgerTransfer(noteId, o.financierId, 0, false);
        else bought = notes.ledgerSplit(noteId, o.financierId, value, 0, false);
        p.noteId = bought;
        if (o.recourse) _recoursePurchaseOf[bought] = purchaseId;
        if (price != 0) cash.ledgerTransfer(financier, msg.sender, price);
        emit OfferAccepted(offerId, purchaseId, bought, sellerId, value, price);
    }

    /// @inheritdoc IRecourseBook
    /// @dev Set when a note is bought with recourse, cleared when the seller pays the recourse claim.
    function recoursePurchaseOf(uint256 noteId) external view returns (uint256 purchaseId) {
        return _recoursePurchaseOf[noteId];
    }

    /// @inheritdoc IFinancing
    function quote(uint256 offerId) external view returns (uint256 price) {
        Offer storage o = _openOffer(offerId);
        uint64 maturity = notes.receivable(notes.note(o.noteId).slotId).maturity;
        if (block.timestamp >= maturity) return 0;
        return priceOf(o.value, o.rateBps, maturity - block.timestamp);
    }

    // ================================================================== recourse

    /// @inheritdoc IFinancing
    function claimRecourse(uint256 purchaseId) external whenNotPaused returns (uint256 amount) {
        Purchase storage p = _purchase(purchaseId);
        if (!p.recourse) revert NoRecourse(purchaseId);
        if (registry.accountOf(p.financierId) != msg.sender) revert NotPurchaseFinancier(purchaseId, msg.sender);
        if (p.recourseStatus != RecourseStatus.None) revert InvalidRecourseState(purchaseId, p.recourseStatus);
        IReceivableNotes.Note memory n = notes.note(p.noteId);
        if (n.holderId != p.financierId) revert NoteNoLongerHeld(p.noteId, n.holderId);
        IReceivableNotes.SlotStatus status = notes.receivable(n.slotId).status;
        if (status != IReceivableNotes.SlotStatus.Defaulted) revert SlotNotDefaulted(n.slotId, status);
        amount = n.value < p.value ? n.value : p.value;
        p.recourseStatus = RecourseStatus.Claimed;
        p.recourseAmount = amount;
        emit RecourseClaimed(purchaseId, p.noteId, amount);
    }

    /// @inheritdoc IFinancing
    function payRecourse(uint256 purchaseId) external nonReentrant whenNotPaused {
        Purchase storage p = _purchase(purchaseId);
        if (p.recourseStatus != RecourseStatus.Claimed) revert InvalidRecourseState(purchaseId, p.recourseStatus);
        if (registry.accountOf(p.sellerId) != msg.sender) revert NotSeller(purchaseId, msg.sender);
        address financier = registry.accountOf(p.financierId);
        p.recourseStatus = RecourseStatus.Paid;
        delete _recoursePurchaseOf[p.noteId]; // recourse honoured: anyone may claim the note again (S-2)
        uint256 amount = p.recourseAmount;
        cash.ledgerTransfer(msg.sender, financier, amount);
        if (notes.note(p.noteId).value > amount) notes.ledgerSplit(p.noteId, p.sellerId, amount, 0, true);
        else notes.ledgerTransfer(p.noteId, p.sellerId, 0, true);
        emit RecoursePaid(purchaseId, p.noteId, amount);
    }

    // ================================================================== order financing

    /// @inheritdoc IFinancing
    function lend(uint256 orderId, uint96 principal, uint32 rateBps, uint64 dueDate)
        external
        nonReentrant
        whenNotPaused
        returns (uint256 loanId)
    {
        uint32 financierId = registry.requireActive(msg.sender, Roles.FINANCIER);
        IOrderBook.Order memory o = orderBook.order(orderId);
        if (o.lienholderId != financierId) revert OrderNotPledgedTo(orderId, o.lienholderId, financierId);
        if (o.status != IOrderBook.OrderStatus.Confirmed && o.status != IOrderBook.OrderStatus.Delivered) {
            revert OrderNotFinanceable(orderId, o.status);
        }
        if (o.cashToken != address(cash)) revert CurrencyMismatch(o.cashToken, address(cash));
        uint256 existing = _loanOfOrder[orderId];
        if (existing != 0 && _loans[existing].status == LoanStatus.Active) revert LoanExists(orderId, existing);
        uint256 maxPrincipal = uint256(o.amount) * _maxAdvanceBps / BPS;
        if (principal == 0 || principal > maxPrincipal) revert AdvanceExceeded(orderId, principal, maxPrincipal);
        if (rateBps > MAX_RATE_BPS) revert InvalidRate(rateBps);
        if (dueDate <= block.timestamp) revert InvalidDueDate(dueDate);
        uint32 borrowerId = orderBook.holderOf(orderId);
        address borrower = registry.requireActiveId(borrowerId, Roles.HOLDER);

        loanId = ++_loanCount;
        _loans[loanId] = Loan(
            financierId, borrowerId, LoanStatus.Active, rateBps, uint64(block.timestamp), dueDate, principal, orderId
        );
        _loanOfOrder[orderId] = loanId;
        cash.ledgerTransfer(msg.sender, borrower, principal);
        emit LoanOpened(loanId, orderId, financierId, borrowerId, principal, rateBps, dueDate);
    }

    /// @inheritdoc IFinancing
    function repay(uint256 loanId) external nonReentrant whenNotPaused {
        Loan storage l = _activeLoan(loanId);
        if (registry.accountOf(l.borrowerId) != msg.sender) revert NotBorrower(loanId, msg.sender);
        uint256 interest = interestOf(l.principal, l.rateBps, block.timestamp - l.startedAt);
        l.status = LoanStatus.Repaid;
        cash.ledgerTransfer(msg.sender, registry.accountOf(l.financierId), l.principal + interest);
        uint256 orderId = l.orderId;
        if (orderBook.lienholderOf(orderId) == l.financierId) orderBook.releaseByLedger(orderId);
        uint256 slotId = notes.slotOfOrder(orderId);
        if (slotId != 0) {
            uint256 noteId = notes.firstNoteOf(slotId);
            // The note may be gone (settled after the lienholder released it); then there is nothing to release.
            try notes.lienholderOf(noteId) returns (uint32 lienholderId) {
                if (lienholderId == l.financierId) notes.ledgerRelease(noteId);
            } catch (bytes memory reason) {
                _onlyNoteGone(reason);
            }
        }
        emit LoanRepaid(loanId, l.principal, interest);
    }

    /// @inheritdoc IFinancing
    function foreclose(uint256 loanId) external nonReentrant whenNotPaused returns (uint256 takenNoteId) {
        Loan storage l = _activeLoan(loanId);
        if (registry.accountOf(l.financierId) != msg.sender) revert NotLoanFinancier(loanId, msg.sender);
        if (block.timestamp <= l.dueDate) revert LoanNotDue(loanId, l.dueDate);
        uint256 orderId = l.orderId;
        uint256 slotId = notes.slotOfOrder(orderId);
        if (slotId == 0) revert NoReceivableYet(orderId);
        uint256 noteId = notes.firstNoteOf(slotId);
        // Only collateral still pledged to this financier by the borrower can be taken: the lienholder may have
        // released the lock, the note may be settled, sold on, or pledged again by someone else.
        IReceivableNotes.Note memory n;
        try notes.note(noteId) returns (IReceivableNotes.Note memory found) {
            n = found;
        } catch (bytes memory reason) {
            _onlyNoteGone(reason); // burned: n stays zero, so CollateralReleased below
        }
        if (n.lienholderId != l.financierId || n.holderId != l.borrowerId) revert CollateralReleased(loanId, noteId);
        uint256 owed = l.principal + interestOf(l.principal, l.rateBps, block.timestamp - l.startedAt);
        uint256 noteValue = n.value;
        l.status = LoanStatus.Foreclosed;
        uint256 taken;
        if (owed >= noteValue) {
            notes.ledgerTransfer(noteId, l.financierId, l.financierId, true);
            takenNoteId = noteId;
            taken = noteValue;
        } else {
            takenNoteId = notes.ledgerSplit(noteId, l.financierId, owed, l.financierId, true);
            notes.ledgerRelease(noteId);
            taken = owed;
        }
        if (orderBook.lienholderOf(orderId) == l.financierId) orderBook.releaseByLedger(orderId);
        emit LoanForeclosed(loanId, noteId, takenNoteId, taken);
    }

    /// @inheritdoc IFinancing
    function amountOwed(uint256 loanId) external view returns (uint256) {
        Loan storage l = _activeLoan(loanId);
        return l.principal + interestOf(l.principal, l.rateBps, block.timestamp - l.startedAt);
    }

    /// @inheritdoc IFinancing
    function setMaxAdvanceBps(uint16 bps) external onlyOperator {
        if (bps == 0 || bps > MAX_ADVANCE_BPS_LIMIT) revert InvalidAdvanceRate(bps);
        _maxAdvanceBps = bps;
        emit MaxAdvanceSet(bps);
    }

    // ================================================================== views

    /// @inheritdoc IFinancing
    function offer(uint256 offerId) external view returns (Offer memory) {
        Offer memory o = _offers[offerId];
        if (o.status == OfferStatus.None) revert UnknownOffer(offerId);
        return o;
    }

    /// @inheritdoc IFinancing
    function purchase(uint256 purchaseId) external view returns (Purchase memory) {
        return _purchase(purchaseId);
    }

    /// @inheritdoc IFinancing
    function loan(uint256 loanId) external view returns (Loan memory) {
        Loan memory l = _loans[loanId];
        if (l.status == LoanStatus.None) revert UnknownLoan(loanId);
        return l;
    }

    /// @inheritdoc IFinancing
    function loanOfOrder(uint256 orderId) external view returns (uint256) {
        return _loanOfOrder[orderId];
    }

    /// @inheritdoc IFinancing
    function maxAdvanceBps() external view returns (uint16) {
        return _maxAdvanceBps;
    }

    /// @inheritdoc IFinancing
    function counts() external view returns (uint256 offers, uint256 purchases, uint256 loans) {
        return (_offerCount, _purchaseCount, _loanCount);
    }


    /// @dev The one failure tolerated when looking up an order's note: it was burned (`UnknownNote`). Anything
    ///      else is re-raised with its revert data.
    function _onlyNoteGone(bytes memory reason) private pure {
        if (reason.length >= 4 && bytes4(reason) == IReceivableNotes.UnknownNote.selector) return;
        assembly ("memory-safe") {
            revert(add(reason, 32), mload(reason))
        }
    }

    function _openOffer(uint256 offerId) private view returns (Offer storage o) {
        o = _offers[offerId];
        if (o.status == OfferStatus.None) revert UnknownOffer(offerId);
        if (o.status != OfferStatus.Open) revert OfferNotOpen(offerId, o.status);
    }

    function _purchase(uint256 purchaseId) private view returns (Purchase storage p) {
        p = _purchases[purchaseId];
        if (p.financierId == 0) revert UnknownPurchase(purchaseId);
    }

    function _activeLoan(uint256 loanId) private view returns (Loan storage l) {
        l = _loans[loanId];
        if (l.status == LoanStatus.None) revert UnknownLoan(loanId);
        if (l.status != LoanStatus.Active) revert LoanNotActive(loanId, l.status);
    }
}
