// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IOrderBook} from "./IOrderBook.sol";
import {IReceivableNotes} from "./IReceivableNotes.sol";
import {IRecourseBook} from "./IRecourseBook.sol";

/// @title Financing: factoring offers (delivery versus payment), recourse, and order loans secured by a lien.
/// @notice The types, errors and events of `Financing` and its external functions.
interface IFinancing is IRecourseBook {
    enum OfferStatus {
        None,
        Open,
        Accepted,
        Cancelled
    }

    enum LoanStatus {
        None,
        Active,
        Repaid,
        Foreclosed
    }

    enum RecourseStatus {
        None,
        Claimed,
        Paid
    }

    struct Offer {
        uint32 financierId;
        OfferStatus status;
        bool recourse;
        uint32 rateBps;
        uint64 expiry;
        uint96 value;
        uint256 noteId;
    }

    struct Purchase {
        uint32 sellerId;
        uint32 financierId;
        bool recourse;
        RecourseStatus recourseStatus;
        uint96 value;
        uint96 price;
        uint256 noteId; // the note the financier received
        uint256 offerId;
        uint256 recourseAmount;
    }

    struct Loan {
        uint32 financierId;
        uint32 borrowerId;
        LoanStatus status;
        uint32 rateBps;
        uint64 startedAt;
        uint64 dueDate;
        uint96 principal;
        uint256 orderId;
    }

    error UnknownOffer(uint256 offerId);
    error OfferNotOpen(uint256 offerId, OfferStatus status);
    error OfferExpired(uint256 offerId, uint64 expiry);
    error InvalidRate(uint256 rateBps);
    error InvalidExpiry(uint64 expiry);
    error InvalidValue(uint256 value);
    error NotOfferFinancier(uint256 offerId, address caller);
    error NotNoteHolder(uint256 noteId, address caller);
    error CurrencyMismatch(address noteCurrency, address cashToken);
    error SelfDealing(uint32 memberId);
    error UnknownPurchase(uint256 purchaseId);
    error NoRecourse(uint256 purchaseId);
    error InvalidRecourseState(uint256 purchaseId, RecourseStatus status);
    error SlotNotDefaulted(uint256 slotId, IReceivableNotes.SlotStatus status);
    error NotPurchaseFinancier(uint256 purchaseId, address caller);
    error NotSeller(uint256 purchaseId, address caller);
    error NoteNoLongerHeld(uint256 noteId, uint32 holderId);
    error UnknownLoan(uint256 loanId);
    error LoanNotActive(uint256 loanId, LoanStatus status);
    error NotLoanFinancier(uint256 loanId, address caller);
    error NotBorrower(uint256 loanId, address caller);
    error OrderNotPledgedTo(uint256 orderId, uint32 lienholderId, uint32 financierId);
    error OrderNotFinanceable(uint256 orderId, IOrderBook.OrderStatus status);
    error LoanExists(uint256 orderId, uint256 loanId);
    error AdvanceExceeded(uint256 orderId, uint256 principal, uint256 maxPrincipal);
    error InvalidDueDate(uint64 dueDate);
    error LoanNotDue(uint256 loanId, uint64 dueDate);
    error NoReceivableYet(uint256 orderId);
    error InvalidAdvanceRate(uint256 bps);
    error CollateralReleased(uint256 loanId, uint256 noteId);

    event OfferMade(
        uint256 indexed offerId,
        uint256 indexed noteId,
        uint32 indexed financierId,
        uint96 value,
        uint32 rateBps,
        bool recourse,
        uint64 expiry
    );
    event OfferCancelled(uint256 indexed offerId);
    event OfferAccepted(
        uint256 indexed offerId,
        uint256 indexed purchaseId,
        uint256 indexed boughtNoteId,
        uint32 sellerId,
        uint96 value,
        uint96 price
    );
    event RecourseClaimed(uint256 indexed purchaseId, uint256 indexed noteId, uint256 amount);
    event RecoursePaid(uint256 indexed purchaseId, uint256 indexed noteId, uint256 amount);
    event LoanOpened(
        uint256 indexed loanId,
        uint256 indexed orderId,
        uint32 indexed financierId,
        uint32 borrowerId,
        uint96 principal,
        uint32 rateBps,
        uint64 dueDate
    );
    event LoanRepaid(uint256 indexed loanId, uint256 principal, uint256 interest);
    event LoanForeclosed(uint256 indexed loanId, uint256 indexed noteId, uint256 indexed takenNoteId, uint256 value);
    event MaxAdvanceSet(uint16 bps);

    // ---------------------------------------------------------------- pricing
    /// @notice Factoring price of `value` at `rateBps` per year with `secondsToMaturity` left (never below zero:
    ///         a discount larger than the value prices the note at 0).
    /// @param value the value bought, in minor units
    /// @param rateBps the discount rate, in basis points a year
    /// @param secondsToMaturity the time left to maturity
    /// @return the price, in minor units
    function priceOf(uint256 value, uint256 rateBps, uint256 secondsToMaturity) external pure returns (uint256);
    /// @notice Interest on `principal` at `rateBps` per year after `elapsed` seconds: every started day counts,
    ///         at least one (a loan repaid in the block it was opened still pays a day), and the amount is rounded up.
    /// @param principal the loan's principal, in minor units
    /// @param rateBps the interest rate, in basis points a year
    /// @param elapsed the seconds since the loan was opened
    /// @return the interest, in minor units
    function interestOf(uint256 principal, uint256 rateBps, uint256 elapsed) external pure returns (uint256);

    // ---------------------------------------------------------------- factoring
    /// @notice A financier offers to buy `value` of a note at `rateBps` discount per year, until `expiry`.
    /// @param noteId the note
    /// @param value the value to buy, in minor units (the whole note or a split of it)
    /// @param rateBps the discount rate, in basis points a year
    /// @param recourse whether the seller guarantees the value on a default
    /// @param expiry when the offer lapses (unix seconds)
    /// @return offerId the new offer
    function makeOffer(uint256 noteId, uint96 value, uint32 rateBps, bool recourse, uint64 expiry)
        external
        returns (uint256 offerId);
    /// @notice The offering financier withdraws an open offer.
    /// @param offerId the caller's open offer
    function cancelOffer(uint256 offerId) external;
    /// @notice The note's holder accepts: in one transaction the financier pays the price and receives the value
    ///         (split off when partial).
    /// @param offerId the offer on the caller's note
    /// @return purchaseId the new purchase
    function acceptOffer(uint256 offerId) external returns (uint256 purchaseId);
    /// @notice Price the holder would receive if it accepted the offer now.
    /// @param offerId the offer
    /// @return price the price, in minor units
    function quote(uint256 offerId) external view returns (uint256 price);

    // ---------------------------------------------------------------- recourse
    /// @notice A financier that bought with recourse claims the bought note's value from the seller after the
    ///         receivable defaulted. It must still hold the note. The claim is at most the value bought: value the
    ///         financier merged into the note from elsewhere is not the seller's to guarantee.
    /// @param purchaseId the purchase bought with recourse
    /// @return amount the value claimed from the seller, in minor units
    function claimRecourse(uint256 purchaseId) external returns (uint256 amount);
    /// @notice The seller pays a recourse claim; the claimed value goes back to the seller (the whole note, or a
    ///         split of the claimed value when the note holds more).
    /// @param purchaseId the claimed purchase
    function payRecourse(uint256 purchaseId) external;

    // ---------------------------------------------------------------- order financing
    /// @notice The financier an order is pledged to lends against it (up to the advance rate of the order
    ///         amount); the principal goes to the order's holder in the same transaction.
    /// @param orderId the order pledged to the caller
    /// @param principal the amount lent, in minor units
    /// @param rateBps the interest rate, in basis points a year
    /// @param dueDate when the loan is due (unix seconds)
    /// @return loanId the new loan
    function lend(uint256 orderId, uint96 principal, uint32 rateBps, uint64 dueDate) external returns (uint256 loanId);
    /// @notice The borrower repays principal plus interest; the lien on the order (and on its note) is released.
    /// @param loanId the caller's loan
    function repay(uint256 loanId) external;
    /// @notice After the due date the lienholder takes from the order's note exactly what is owed (all of it if
    ///         the note is worth less) and unlocks the rest.
    /// @param loanId the overdue loan
    /// @return takenNoteId the note the lender now holds
    function foreclose(uint256 loanId) external returns (uint256 takenNoteId);
    /// @notice Amount the borrower would repay now.
    /// @param loanId the loan
    /// @return principal plus interest, in minor units
    function amountOwed(uint256 loanId) external view returns (uint256);
    /// @notice Operators set the maximum advance rate of order loans (at most 90%).
    /// @param bps the new maximum, in basis points (1 to 9,000, 90%)
    function setMaxAdvanceBps(uint16 bps) external;

    // ---------------------------------------------------------------- views
    /// @notice An offer.
    /// @param offerId the offer
    /// @return the offer
    function offer(uint256 offerId) external view returns (Offer memory);
    /// @notice A purchase (an accepted offer).
    /// @param purchaseId the purchase
    /// @return the purchase
    function purchase(uint256 purchaseId) external view returns (Purchase memory);
    /// @notice A loan.
    /// @param loanId the loan
    /// @return the loan
    function loan(uint256 loanId) external view returns (Loan memory);
    /// @notice Loan id of an order (0 = none).
    /// @param orderId the order
    /// @return the loan id, 0 for none
    function loanOfOrder(uint256 orderId) external view returns (uint256);
    /// @notice Maximum advance rate of order loans, in basis points.
    /// @return the maximum advance rate, in basis points
    function maxAdvanceBps() external view returns (uint16);
    /// @notice Counters of offers, purchases and loans.
    /// @return offers the number of offers
    /// @return purchases the number of purchases
    /// @return loans the number of loans
    function counts() external view returns (uint256 offers, uint256 purchases, uint256 loans);
}
