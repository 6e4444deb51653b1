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
    /// @notice Price of `value` bought `secondsToMaturity` before maturity at `rateBps` a year (rounded up).
    function priceOf(uint256 value, uint256 rateBps, uint256 secondsToMaturity) external pure returns (uint256);
    /// @notice Interest on `principal` after `elapsed` seconds at `rateBps` a year (rounded up, at least a day).
    function interestOf(uint256 principal, uint256 rateBps, uint256 elapsed) external pure returns (uint256);

    // ---------------------------------------------------------------- factoring
    function makeOffer(uint256 noteId, uint96 value, uint32 rateBps, bool recourse, uint64 expiry)
        external
        returns (uint256 offerId);
    function cancelOffer(uint256 offerId) external;
    function acceptOffer(uint256 offerId) external returns (uint256 purchaseId);
    function quote(uint256 offerId) external view returns (uint256 price);

    // ---------------------------------------------------------------- recourse
    function claimRecourse(uint256 purchaseId) external returns (uint256 amount);
    function payRecourse(uint256 purchaseId) external;

    // ---------------------------------------------------------------- order financing
    function lend(uint256 orderId, uint96 principal, uint32 rateBps, uint64 dueDate) external returns (uint256 loanId);
    function repay(uint256 loanId) external;
    function foreclose(uint256 loanId) external returns (uint256 takenNoteId);
    function amountOwed(uint256 loanId) external view returns (uint256);
    function setMaxAdvanceBps(uint16 bps) external;

    // ---------------------------------------------------------------- views
    function offer(uint256 offerId) external view returns (Offer memory);
    function purchase(uint256 purchaseId) external view returns (Purchase memory);
    function loan(uint256 loanId) external view returns (Loan memory);
    function loanOfOrder(uint256 orderId) external view returns (uint256);
    function maxAdvanceBps() external view returns (uint16);
    function counts() external view returns (uint256 offers, uint256 purchases, uint256 loans);
}
