// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

/// @title Receivable notes: ERC-3525 semi-fungible tokens; a slot is one confirmed receivable.
/// @notice Standard ERC-3525 / ERC-721 functions (balanceOf, slotOf, transferFrom(fromTokenId, to, value)
///         = split, transferFrom(fromTokenId, toTokenId, value) = merge/value move, ERC-721 whole transfers,
///         value approvals) are declared in IERC3525 / IERC721; this interface adds the receivable terms,
///         locks (pledges), lineage and the hooks the other ledger contracts use.
///         Slot ids and note ids start at 1. Holders are recorded by member id, so a rotated member account
///         keeps its notes; ownerOf returns the member's current account.
interface IReceivableNotes {
    enum SlotStatus {
        None,
        Active,
        Settled,
        Defaulted
    }

    struct Receivable {
        uint32 obligorId; // core enterprise that owes
        uint32 creditorId; // original creditor (first holder)
        SlotStatus status;
        uint32 liveNotes; // notes of this slot not yet burned
        uint64 issuedAt;
        uint64 maturity;
        uint128 faceValue; // minor units of cashToken
        address cashToken;
        bytes32 invoiceHash; // unique across the whole ledger
        uint256 orderId; // 0 when issued directly
    }

    struct Note {
        uint32 holderId; // member id of the holder
        uint32 lienholderId; // 0 = not locked
        uint256 slotId;
        uint256 value;
        uint256 parentId; // note it was split from, 0 for the first note of a slot
    }

    // ---------------------------------------------------------------- errors
    error UnknownSlot(uint256 slotId);
    error UnknownNote(uint256 noteId);
    error InvoiceAlreadyTokenised(bytes32 invoiceHash, uint256 slotId);
    error OrderAlreadyTokenised(uint256 orderId, uint256 slotId);
    /// @notice `issueForOrder` was called without an order (order ids start at 1).
    error ZeroOrderId();
    error InvalidFaceValue(uint256 faceValue);
    error InvalidMaturity(uint64 maturity, uint64 earliest, uint64 latest);
    error ZeroInvoiceHash();
    error SlotMatured(uint256 slotId, uint64 maturity);
    error SlotNotActive(uint256 slotId, SlotStatus status);
    error NoteIsLocked(uint256 noteId, uint32 lienholderId);
    error NoteNotLocked(uint256 noteId);
    error NotLienholder(uint256 noteId, address caller);
    error NotNoteHolder(uint256 noteId, address caller);
    error InsufficientValue(uint256 noteId, uint256 value, uint256 requested);
    error InsufficientAllowance(uint256 noteId, address operator, uint256 allowance, uint256 requested);
    error NotApproved(uint256 noteId, address operator);
    error ValueBelowMinimum(uint256 value, uint256 minimum);
    error TooManyLiveNotes(uint256 slotId, uint256 maxLiveNotes);
    error SlotMismatch(uint256 fromNoteId, uint256 toNoteId);
    error ZeroValue();
    error SelfTransfer(uint256 noteId);
    error InvalidPolicy(uint256 value);
    error InvalidRecipient(address to);
    error NoteNotInSlot(uint256 noteId, uint256 slotId);
    error InvalidStatusChange(uint256 slotId, SlotStatus from, SlotStatus to);
    error RejectedByReceiver(address to);
    error ApprovalToHolder(address operator);

    // ---------------------------------------------------------------- events (besides ERC-3525/721 ones)
    event ReceivableIssued(
        uint256 indexed slotId,
        uint32 indexed obligorId,
        uint32 indexed creditorId,
        uint256 noteId,
        uint128 faceValue,
        address cashToken,
        uint64 maturity,
        bytes32 invoiceHash,
        uint256 orderId
    );
    /// @dev Emitted for every note created by a split (the ERC-3525 events carry the value).
    event NoteSplit(uint256 indexed parentId, uint256 indexed noteId, uint256 indexed slotId, uint256 value);
    event NoteLocked(uint256 indexed noteId, uint32 indexed lienholderId);
    event NoteReleased(uint256 indexed noteId, uint32 indexed lienholderId);
    event SlotStatusChanged(uint256 indexed slotId, SlotStatus status);
    event PolicySet(uint256 minSplitValue, uint256 maxLiveNotesPerSlot, uint64 maxTenor);
    /// @notice The metadata base URI, fixed at deploy (tokenURI, slotURI and contractURI are read under it).
    event BaseURISet(string baseURI);

    // ---------------------------------------------------------------- issuance
    /// @notice The obligor (msg.sender, an active core enterprise) confirms a receivable it owes `creditor`
    ///         and mints its first note to the creditor. Raises the obligor's outstanding (credit limit).
    function issue(address creditor, uint128 faceValue, address cashToken, uint64 maturity, bytes32 invoiceHash)
        external
        returns (uint256 slotId, uint256 noteId);
    /// @notice OrderBook only: issue for an accepted order; the note is locked to `lienholderId` if non-zero.
    function issueForOrder(
        uint256 orderId,
        uint32 obligorId,
        uint32 creditorId,
        uint32 lienholderId,
        uint128 faceValue,
        address cashToken,
        uint64 maturity,
        bytes32 invoiceHash
    ) external returns (uint256 slotId, uint256 noteId);

    // ---------------------------------------------------------------- locks
    /// @notice The holder locks (pledges) its note to a financier.
    function lock(uint256 noteId, address lienholder) external;
    /// @notice The lienholder releases the lock.
    function release(uint256 noteId) external;

    // ---------------------------------------------------------------- ledger hooks (ledger contracts only)
    /// @notice Moves `value` of a note to member `toId` as a new note (a split), bypassing approvals but not
    ///         membership checks. `ignoreMaturity` is for recourse/foreclosure after maturity. Locks still
    ///         apply unless the caller passes the note's lienholder as `asLienholderId`.
    function ledgerSplit(uint256 noteId, uint32 toId, uint256 value, uint32 asLienholderId, bool ignoreMaturity)
        external
        returns (uint256 newNoteId);
    /// @notice Moves a whole note to member `toId` (same rules as ledgerSplit).
    function ledgerTransfer(uint256 noteId, uint32 toId, uint32 asLienholderId, bool ignoreMaturity) external;
    function ledgerLock(uint256 noteId, uint32 lienholderId) external;
    function ledgerRelease(uint256 noteId) external;
    /// @notice Settlement only: burns a note of `slotId` and returns its holder's account and value.
    function burnForSettlement(uint256 noteId, uint256 slotId) external returns (address holder, uint256 value);
    /// @notice Settlement only: burns a batch of unlocked notes of `slotId` (ids from the indexer, each checked).
    function burnBatchForSettlement(uint256 slotId, uint256[] calldata noteIds)
        external
        returns (address[] memory holders, uint256[] memory values);
    /// @notice Settlement only: moves a slot to Settled or Defaulted (forward only).
    function setSlotStatus(uint256 slotId, SlotStatus status) external;

    // ---------------------------------------------------------------- policy (operators)
    function setPolicy(uint256 minSplitValue, uint256 maxLiveNotesPerSlot, uint64 maxTenor) external;

    // ---------------------------------------------------------------- views
    function receivable(uint256 slotId) external view returns (Receivable memory);
    function note(uint256 noteId) external view returns (Note memory);
    function slotOfInvoice(bytes32 invoiceHash) external view returns (uint256);
    function slotOfOrder(uint256 orderId) external view returns (uint256);
    function lienholderOf(uint256 noteId) external view returns (uint32);
    function parentOf(uint256 noteId) external view returns (uint256);
    /// @notice The note minted when the slot was issued (the one locked to an order's lienholder).
    function firstNoteOf(uint256 slotId) external view returns (uint256);
    function slotCount() external view returns (uint256);
    function noteCount() external view returns (uint256);
    function minSplitValue() external view returns (uint256);
    function maxLiveNotesPerSlot() external view returns (uint256);
    function maxTenor() external view returns (uint64);
}
