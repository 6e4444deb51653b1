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
    /// @notice A bulk payment's lists: empty, longer than MAX_PAYMENTS, or of different lengths.
    error InvalidBatch(uint256 recipients, uint256 values);
    /// @notice Payment `index` (from 0) of a bulk payment is below the receivable's minimum note value.
    error PaymentBelowMinimum(uint256 index, uint256 value, uint256 minimum);

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
    /// @param creditor the creditor's account (an active member with a holding role)
    /// @param faceValue the amount owed, in the cash token's minor units
    /// @param cashToken the cash token it is paid in
    /// @param maturity when it is due (unix seconds; within the policy's maximum tenor)
    /// @param invoiceHash the invoice's hash, unique across the ledger
    /// @return slotId the new receivable
    /// @return noteId its first note, held by the creditor
    function issue(address creditor, uint128 faceValue, address cashToken, uint64 maturity, bytes32 invoiceHash)
        external
        returns (uint256 slotId, uint256 noteId);
    /// @notice OrderBook only: issue for an accepted order; the note is locked to `lienholderId` if non-zero.
    /// @param orderId the accepted order
    /// @param obligorId the buyer, who owes the receivable
    /// @param creditorId the seller, who holds the first note
    /// @param lienholderId the financier the order is pledged to, 0 for none
    /// @param faceValue the amount owed, in the cash token's minor units
    /// @param cashToken the cash token it is paid in
    /// @param maturity when it is due (unix seconds)
    /// @param invoiceHash the invoice's hash, unique across the ledger
    /// @return slotId the new receivable
    /// @return noteId its first note
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

    // ---------------------------------------------------------------- bulk payment
    /// @notice Bulk payment: one split per recipient out of one note, all or nothing. Payment i moves
    ///         `values[i]` into a new note for `to[i]` (ids `firstNoteId + i`), with the checks of the splits
    ///         made one after another: caller authorised for the sum (a value allowance is spent by it), each
    ///         recipient an active member with a holding role, each value at least the slot's minimum note
    ///         value, the remainder nothing (the note is burned) or at least that minimum, the live-note cap.
    ///         Emits per new note what a split emits (Transfer, SlotChanged, TransferValue, NoteSplit).
    /// @param fromTokenId the note paid from
    /// @param to the recipients (1 to MAX_PAYMENTS = 100)
    /// @param values the value paid to each, in minor units
    /// @return firstNoteId the first new note; the others follow it in order
    function splitBatch(uint256 fromTokenId, address[] calldata to, uint256[] calldata values)
        external
        returns (uint256 firstNoteId);

    // ---------------------------------------------------------------- locks
    /// @notice The holder locks (pledges) its note to a financier.
    /// @param noteId the caller's note
    /// @param lienholder the financier's account
    function lock(uint256 noteId, address lienholder) external;
    /// @notice The lienholder releases the lock.
    /// @param noteId the locked note
    function release(uint256 noteId) external;

    // ---------------------------------------------------------------- ledger hooks (ledger contracts only)
    /// @notice Moves `value` of a note to member `toId` as a new note (a split), bypassing approvals but not
    ///         membership checks. `ignoreMaturity` is for recourse/foreclosure after maturity. Locks still
    ///         apply unless the caller passes the note's lienholder as `asLienholderId`.
    /// @param noteId the note split
    /// @param toId the member receiving the new note
    /// @param value the value moved, in minor units
    /// @param asLienholderId the note's lienholder when the caller acts for it (foreclosure), else 0
    /// @param ignoreMaturity true for recovery after maturity (exact amounts, not bounded by the split policy)
    /// @return newNoteId the new note
    function ledgerSplit(uint256 noteId, uint32 toId, uint256 value, uint32 asLienholderId, bool ignoreMaturity)
        external
        returns (uint256 newNoteId);
    /// @notice Moves a whole note to member `toId` (same rules as ledgerSplit).
    /// @param noteId the note moved
    /// @param toId the member receiving it
    /// @param asLienholderId the note's lienholder when the caller acts for it (foreclosure), else 0
    /// @param ignoreMaturity true for recovery after maturity
    function ledgerTransfer(uint256 noteId, uint32 toId, uint32 asLienholderId, bool ignoreMaturity) external;
    /// @notice Locks a note to a lienholder on behalf of the ledger.
    /// @param noteId the note
    /// @param lienholderId the lienholder's member id
    function ledgerLock(uint256 noteId, uint32 lienholderId) external;
    /// @notice Releases a note's lock on behalf of the ledger (Financing on repayment or foreclosure).
    /// @param noteId the locked note
    function ledgerRelease(uint256 noteId) external;
    /// @notice Settlement only: burns a note of `slotId` and returns its holder's account and value.
    /// @param noteId the note burned (unlocked)
    /// @param slotId its receivable
    /// @return holder the account that held it
    /// @return value its value, in minor units
    function burnForSettlement(uint256 noteId, uint256 slotId) external returns (address holder, uint256 value);
    /// @notice Settlement only: burns a batch of unlocked notes of `slotId` (ids from the indexer, each checked).
    /// @param slotId the receivable
    /// @param noteIds its notes to burn
    /// @return holders the account that held each note
    /// @return values each note's value, in minor units
    function burnBatchForSettlement(uint256 slotId, uint256[] calldata noteIds)
        external
        returns (address[] memory holders, uint256[] memory values);
    /// @notice Settlement only: moves a slot to Settled or Defaulted (forward only).
    /// @param slotId the receivable
    /// @param status Settled or Defaulted
    function setSlotStatus(uint256 slotId, SlotStatus status) external;

    // ---------------------------------------------------------------- policy (operators)
    /// @notice Operators set the split policy; emits PolicySet.
    /// @param minSplitValue the absolute least value of a split's new note and non-zero remainder (1 to 2^64 - 1);
    ///        a receivable's minimum is this or face / maxLiveNotesPerSlot, whichever is larger (`minNoteValue`)
    /// @param maxLiveNotesPerSlot the most live notes a receivable may have (1 to MAX_LIVE_NOTES_LIMIT)
    /// @param maxTenor the longest time to maturity at issuance (1 day to 5 years)
    function setPolicy(uint256 minSplitValue, uint256 maxLiveNotesPerSlot, uint64 maxTenor) external;

    // ---------------------------------------------------------------- views
    /// @notice A receivable's terms and state (reverts UnknownSlot).
    /// @param slotId the receivable
    /// @return the receivable
    function receivable(uint256 slotId) external view returns (Receivable memory);
    /// @notice A live note (reverts UnknownNote for one never minted or burned).
    /// @param noteId the note
    /// @return the note
    function note(uint256 noteId) external view returns (Note memory);
    /// @notice The receivable issued for an invoice.
    /// @param invoiceHash the invoice's hash
    /// @return the receivable, 0 for none
    function slotOfInvoice(bytes32 invoiceHash) external view returns (uint256);
    /// @notice The receivable issued for an order.
    /// @param orderId the order
    /// @return the receivable, 0 for none
    function slotOfOrder(uint256 orderId) external view returns (uint256);
    /// @notice The member a note is locked to.
    /// @param noteId the note
    /// @return the lienholder's member id, 0 when unlocked
    function lienholderOf(uint256 noteId) external view returns (uint32);
    /// @notice The note a note was split from.
    /// @param noteId the note
    /// @return the parent note, 0 for a receivable's first note
    function parentOf(uint256 noteId) external view returns (uint256);
    /// @notice The note minted when the slot was issued (the one locked to an order's lienholder).
    /// @param slotId the receivable
    /// @return the first note
    function firstNoteOf(uint256 slotId) external view returns (uint256);
    /// @notice How many receivables were issued.
    /// @return the number of slots (the last slot id)
    function slotCount() external view returns (uint256);
    /// @notice How many notes were minted.
    /// @return the number of notes (the last note id)
    function noteCount() external view returns (uint256);
    /// @notice The policy's absolute minimum value of a split's new note and non-zero remainder.
    /// @return the minimum, in minor units
    function minSplitValue() external view returns (uint256);
    /// @notice S-3: the least value a note of the receivable may be split to or keep (an emptied note is
    ///         burned): `minSplitValue`, or ceil(face / maxLiveNotesPerSlot) when larger, so the live notes of a
    ///         receivable never exceed the cap.
    /// @param slotId the receivable (reverts UnknownSlot)
    /// @return the minimum, in minor units
    function minNoteValue(uint256 slotId) external view returns (uint256);
    /// @notice The most live notes a receivable may have.
    /// @return the cap
    function maxLiveNotesPerSlot() external view returns (uint256);
    /// @notice The longest time to maturity at issuance.
    /// @return the tenor, in seconds
    function maxTenor() external view returns (uint64);
}
