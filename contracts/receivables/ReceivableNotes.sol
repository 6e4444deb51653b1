// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IERC165} from "@openzeppelin/contracts/utils/introspection/IERC165.sol";
import {IERC721} from "@openzeppelin/contracts/token/ERC721/IERC721.sol";
import {IERC721Metadata} from "@openzeppelin/contracts/token/ERC721/extensions/IERC721Metadata.sol";
import {Strings} from "@openzeppelin/contracts/utils/Strings.sol";
import {ERC721Utils} from "@openzeppelin/contracts/token/ERC721/utils/ERC721Utils.sol";
import {IERC3525, IERC3525Metadata, IERC3525Receiver} from "../interfaces/IERC3525.sol";
import {IMemberRegistry} from "../interfaces/IMemberRegistry.sol";
import {IReceivableNotes} from "../interfaces/IReceivableNotes.sol";
import {LedgerAccess} from "../libraries/LedgerAccess.sol";
import {MemberHoldings} from "../libraries/MemberHoldings.sol";
import {Roles} from "../libraries/Roles.sol";

/// @title Receivable notes: ERC-3525 semi-fungible tokens, one slot per confirmed receivable.
/// @notice A slot is a receivable an obligor (core enterprise) confirmed it owes; its notes are claims on it
///         held by members. `transferFrom(noteId, to, value)` splits (a new note in the same slot, parent
///         recorded), `transferFrom(noteId, noteId, value)` moves value between notes of a slot (a merge when
///         both belong to one holder), ERC-721 transfers move whole notes. Every holder is an active member
///         with a holding role; nothing moves after maturity, while paused or while locked to a lienholder.
/// @dev Gas: a note is one storage word {holder, lienholder, value, slot, parent}; the note counter shares the
///      policy word every move reads anyway; enumeration lives off chain in the indexer; approvals are voided by
///      bumping the note's approval epoch (only when it has approvals) instead of clearing storage.
contract ReceivableNotes is MemberHoldings, IERC3525, IERC3525Metadata, IReceivableNotes {
    struct NoteWord {
        uint32 holderId;
        uint32 lienholderId;
        uint96 value; // face values are capped at uint96, so every note value fits
        uint48 slotId;
        uint48 parentId; // the note it was split from, 0 for a slot's first note
    }

    /// @dev Token and value approvals are recorded under the note's current epoch; a whole transfer of a note
    ///      that has approvals bumps the epoch, voiding them.
    ///      `rotationMark` is the registry rotation whose `Transfer` was emitted for the note (0 = none).
    struct ApprovalState {
        uint64 epoch;
        bool hasApprovals;
        uint32 rotationMark;
    }

    struct SlotCore {
        uint32 obligorId;
        uint32 creditorId;
        SlotStatus status;
        uint32 liveNotes;
        uint64 issuedAt;
        uint64 maturity;
    }

    struct SlotTerms {
        address cashToken;
        uint96 faceValue;
    }

    struct Policy {
        uint64 minSplitValue;
        uint32 maxLiveNotes;
        uint64 maxTenor;
        bool paused;
        uint48 noteCount;
    }

    struct TokenApproval {
        address operator;
        uint64 epoch;
    }

    struct NewSlot {
        uint256 orderId;
        uint32 obligorId;
        uint32 creditorId;
        uint32 lienholderId;
        uint128 faceValue;
        address cashToken;
        uint64 maturity;
        bytes32 invoiceHash;
    }

    bytes4 private constant ERC3525_RECEIVER_ID = 0x009ce20b;

    // Policy: defaults and the bounds an operator may set them within.
    uint64 private constant DEFAULT_MIN_SPLIT_VALUE = 100; // 1.00
    uint32 private constant DEFAULT_MAX_LIVE_NOTES = 500;
    uint64 private constant DEFAULT_MAX_TENOR = 365 days;
    uint256 private constant MAX_LIVE_NOTES_LIMIT = 10_000; // bounds a settlement batch's gas
    uint64 private constant MIN_TENOR_LIMIT = 1 days;
    uint64 private constant MAX_TENOR_LIMIT = 5 * 365 days;
    uint256 private constant MAX_PAYMENTS = 100; // recipients of one bulk payment

    mapping(uint256 noteId => NoteWord) private _notes;
    mapping(uint256 noteId => ApprovalState) private _approvalState;
    mapping(uint256 slotId => SlotCore) private _slots;
    mapping(uint256 slotId => SlotTerms) private _terms;
    mapping(uint256 slotId => bytes32) private _invoiceOf;
    mapping(uint256 slotId => uint256) private _orderOf;
    mapping(uint256 slotId => uint256) private _firstNote;
    mapping(bytes32 invoiceHash => uint256) private _slotOfInvoice;
    mapping(uint256 orderId => uint256) private _slotOfOrder;
    mapping(uint32 memberId => uint256) private _noteBalance;
    mapping(uint256 noteId => TokenApproval) private _tokenApproval;
    mapping(uint256 noteId => mapping(uint64 epoch => mapping(address operator => uint256))) private _allowance;
    Policy private _policy;
    uint256 private _slotCount;
    string private _baseURI;

    /// @param registry_ the member registry
    /// @param baseURI_ the metadata base URI, fixed at deploy (the API's `/v1/metadata/`, ending in "/"; "" for none)
    constructor(IMemberRegistry registry_, string memory baseURI_) LedgerAccess(registry_) {
        _baseURI = baseURI_;
        emit BaseURISet(baseURI_);
        _policy = Policy({
            minSplitValue: DEFAULT_MIN_SPLIT_VALUE,
            maxLiveNotes: DEFAULT_MAX_LIVE_NOTES,
            maxTenor: DEFAULT_MAX_TENOR,
            paused: false,
            noteCount: 0
        });
        emit PolicySet(DEFAULT_MIN_SPLIT_VALUE, DEFAULT_MAX_LIVE_NOTES, DEFAULT_MAX_TENOR);
    }

    // ================================================================== ERC-165 / metadata

    /// @notice ERC-165: ERC-3525 and its metadata extension, ERC-721 and its metadata, ERC-165 itself.
    /// @param interfaceId the ERC-165 interface id asked about
    /// @return whether the notes implement it
    function supportsInterface(bytes4 interfaceId) external pure returns (bool) {
        return interfaceId == type(IERC3525).interfaceId || interfaceId == type(IERC721).interfaceId
            || interfaceId == type(IERC165).interfaceId || interfaceId == type(IERC721Metadata).interfaceId
            || interfaceId == type(IERC3525Metadata).interfaceId;
    }

    /// @notice ERC-721 metadata: the note's JSON (value, slot, receivable), served under the base URI.
    /// @param tokenId the note (reverts UnknownNote for one that does not exist or was burned)
    /// @return `baseURI + "notes/" + tokenId`, or "" while no base URI is set
    function tokenURI(uint256 tokenId) external view returns (string memory) {
        _noteWord(tokenId);
        return _uri("notes/", tokenId);
    }

    /// @notice ERC-3525 metadata: the receivable's JSON (obligor, face value, currency, maturity, status).
    /// @param slot the receivable (reverts UnknownSlot for one never issued)
    /// @return `baseURI + "receivables/" + slot`, or "" while no base URI is set
    function slotURI(uint256 slot) external view returns (string memory) {
        if (_slots[slot].status == SlotStatus.None) revert UnknownSlot(slot);
        return _uri("receivables/", slot);
    }

    /// @notice ERC-3525 metadata: the collection's JSON.
    /// @return `baseURI + "contract"`, or "" while no base URI is set
    function contractURI() external view returns (string memory) {
        return _uri("contract", 0);
    }

    /// @dev `base + kind + id` (id 0: no id), "" while no base is set.
    function _uri(string memory kind, uint256 id) private view returns (string memory) {
        bytes memory base = bytes(_baseURI);
        if (base.length == 0) return "";
        return string(abi.encodePacked(base, kind, id == 0 ? "" : Strings.toString(id)));
    }

    /// @notice Collection name.
    /// @return the name
    function name() external pure returns (string memory) {
        return "SCF Receivable Notes";
    }

    /// @notice Collection symbol.
    /// @return the symbol
    function symbol() external pure returns (string memory) {
        return "SCFN";
    }

    /// @notice Values are in minor units (2 decimals), like the cash token.
    /// @return 2
    function valueDecimals() external pure returns (uint8) {
        return 2;
    }

    // ================================================================== issuance

    /// @inheritdoc IReceivableNotes
    function issue(address creditor, uint128 faceValue, address cashToken, uint64 maturity, bytes32 invoiceHash)
        external
        whenNotPaused
        returns (uint256 slotId, uint256 noteId)
    {
        uint32 obligorId = _requireActive(msg.sender, Roles.CORE_ENTERPRISE);
        uint32 creditorId = _requireActive(creditor, Roles.HOLDER);
        if (creditorId == obligorId) revert InvalidRecipient(creditor);
        return _issue(NewSlot(0, obligorId, creditorId, 0, faceValue, cashToken, maturity, invoiceHash), creditor);
    }

    /// @inheritdoc IReceivableNotes
    function issueForOrder(
        uint256 orderId,
        uint32 obligorId,
        uint32 creditorId,
        uint32 lienholderId,
        uint128 faceValue,
        address cashToken,
        uint64 maturity,
        bytes32 invoiceHash
    ) external onlyLedger whenNotPaused returns (uint256 slotId, uint256 noteId) {
        if (orderId == 0) revert ZeroOrderId();
        uint256 existing = _slotOfOrder[orderId];
        if (existing != 0) revert OrderAlreadyTokenised(orderId, existing);
        _requireActiveId(obligorId, Roles.CORE_ENTERPRISE);
        address creditor = _requireActiveId(creditorId, Roles.HOLDER);
        if (creditorId == obligorId) revert InvalidRecipient(creditor);
        if (lienholderId != 0) _requireActiveId(lienholderId, Roles.FINANCIER);
        (slotId, noteId) = _issue(
            NewSlot(orderId, obligorId, creditorId, lienholderId, faceValue, cashToken, maturity, invoiceHash), creditor
        );
        _slotOfOrder[orderId] = slotId;
        _orderOf[slotId] = orderId;
    }

    function _issue(NewSlot memory s, address creditor) private returns (uint256 slotId, uint256 noteId) {
        if (s.faceValue == 0 || s.faceValue > type(uint96).max) revert InvalidFaceValue(s.faceValue);
        if (s.cashToken == address(0)) revert ZeroAddress();
        if (s.invoiceHash == bytes32(0)) revert ZeroInvoiceHash();
        uint256 existing = _slotOfInvoice[s.invoiceHash];
        if (existing != 0) revert InvoiceAlreadyTokenised(s.invoiceHash, existing);
        uint64 earliest = uint64(block.timestamp) + 1;
        uint64 latest = uint64(block.timestamp) + _policy.maxTenor;
        if (s.maturity < earliest || s.maturity > latest) revert InvalidMaturity(s.maturity, earliest, latest);

        registry.increaseOutstanding(s.obligorId, s.faceValue);

        slotId = ++_slotCount;
        noteId = ++_policy.noteCount;
        _slots[slotId] =
            SlotCore(s.obligorId, s.creditorId, SlotStatus.Active, 1, uint64(block.timestamp), s.maturity);
        _terms[slotId] = SlotTerms(s.cashToken, uint96(s.faceValue));
        _invoiceOf[slotId] = s.invoiceHash;
        _slotOfInvoice[s.invoiceHash] = slotId;
        _firstNote[slotId] = noteId;
        _notes[noteId] = NoteWord(s.creditorId, s.lienholderId, uint96(s.faceValue), uint48(slotId), 0);
        ++_noteBalance[s.creditorId];

        emit Transfer(address(0), creditor, noteId);
        emit SlotChanged(noteId, 0, slotId);
        emit TransferValue(0, noteId, s.faceValue);
        _emitIssued(s, slotId, noteId);
        if (s.lienholderId != 0) emit NoteLocked(noteId, s.lienholderId);
    }

    function _emitIssued(NewSlot memory s, uint256 slotId, uint256 noteId) private {
        emit ReceivableIssued(
            slotId, s.obligorId, s.creditorId, noteId, s.faceValue, s.cashToken, s.maturity, s.invoiceHash, s.orderId
        );
    }

    // ================================================================== ERC-3525 value transfers

    /// @notice Split: moves `value` of note `fromTokenId` into a new note of the same slot held by `to`.
    /// @dev Caller: the holder, an operator approved for the note or for all, or an operator with a value
    ///      allowance (spent). Reverts after maturity, while paused or locked, and below the slot's minimum note
    ///      value, the policy minimum or ceil(face / cap) if larger (S-3: for the new note and for a non-zero
    ///      remainder, so the live notes never exceed the cap). Splitting the whole value burns the emptied note.
    /// @param fromTokenId the note split
    /// @param to the new note's holder (an active member with a holding role)
    /// @param value the value moved, in minor units
    /// @return newNoteId the new note
    function transferFrom(uint256 fromTokenId, address to, uint256 value) external returns (uint256 newNoteId) {
        Policy memory p = _policy;
        if (p.paused) revert EnforcedPause();
        NoteWord memory n = _noteWord(fromTokenId);
        address holder = _authorizeValue(fromTokenId, n, value);
        uint32 toId = _requireActive(to, Roles.HOLDER);
        uint256 slotId = n.slotId;
        SlotCore storage s = _movableSlot(slotId);
        if (n.lienholderId != 0) revert NoteIsLocked(fromTokenId, n.lienholderId);
        _checkSplitValue(fromTokenId, n.value, value, _minNoteValue(slotId, p));
        uint32 live = s.liveNotes;
        if (live >= p.maxLiveNotes) revert TooManyLiveNotes(slotId, p.maxLiveNotes);
        newNoteId = p.noteCount + 1;
        _policy.noteCount = uint48(newNoteId);
        _splitInto(fromTokenId, n, newNoteId, toId, to, value);
        // S-3: a split of the whole value empties the note, which is burned (the live count is unchanged)
        if (value == n.value) _erase(fromTokenId, n.holderId, holder, slotId);
        else s.liveNotes = live + 1;
        _checkReceiver(to, fromTokenId, newNoteId, value);
    }

    /// @inheritdoc IReceivableNotes
    function splitBatch(uint256 fromTokenId, address[] calldata to, uint256[] calldata values)
        external
        returns (uint256 firstNoteId)
    {
        uint256 count = to.length;
        if (count == 0 || count > MAX_PAYMENTS || values.length != count) revert InvalidBatch(count, values.length);
        NoteWord memory n = _noteWord(fromTokenId);
        (address holder, uint256 minimum) = _checkBatch(fromTokenId, n, values);
        firstNoteId = _policy.noteCount - count + 1;
        uint256 slotId = n.slotId;
        for (uint256 i; i < count; ++i) {
            uint256 value = values[i];
            if (value < minimum) revert PaymentBelowMinimum(i, value, minimum);
            address recipient = to[i];
            _mintSplit(fromTokenId, slotId, firstNoteId + i, _requireActive(recipient, Roles.HOLDER), recipient, value);
            unchecked {
                n.value -= uint96(value); // the values sum to at most the note's (_checkBatch)
            }
        }
        // S-3: paying out the whole value empties the note, which is burned
        if (n.value == 0) _erase(fromTokenId, n.holderId, holder, slotId);
        else _notes[fromTokenId].value = n.value;
        for (uint256 i; i < count; ++i) {
            _checkReceiver(to[i], fromTokenId, firstNoteId + i, values[i]);
        }
    }

    /// @dev A bulk payment's note-level checks, as the splits one after another would make them (every
    ///      intermediate remainder is the final one plus later payments, each at least the minimum; the cap as the
    ///      last split checks it: live + count - 1 below it). Records the final live count and the note counter.
    function _checkBatch(uint256 fromTokenId, NoteWord memory n, uint256[] calldata values)
        private
        returns (address holder, uint256 minimum)
    {
        Policy memory p = _policy;
        if (p.paused) revert EnforcedPause();
        uint256 count = values.length;
        uint256 total;
        for (uint256 i; i < count; ++i) {
            total += values[i];
        }
        holder = _authorizeValue(fromTokenId, n, total);
        uint256 slotId = n.slotId;
        SlotCore storage s = _movableSlot(slotId);
        if (n.lienholderId != 0) revert NoteIsLocked(fromTokenId, n.lienholderId);
        if (total > n.value) revert InsufficientValue(fromTokenId, n.value, total);
        minimum = _minNoteValue(slotId, p);
        uint256 remainder = n.value - total;
        if (remainder != 0 && remainder < minimum) revert ValueBelowMinimum(remainder, minimum);
        uint256 live = s.liveNotes + count;
        if (live > p.maxLiveNotes) revert TooManyLiveNotes(slotId, p.maxLiveNotes);
        s.liveNotes = uint32(remainder == 0 ? live - 1 : live);
        _policy.noteCount = uint48(p.noteCount + count);
    }

    /// @notice Moves `value` from one note into another note of the same slot (a merge when one holder holds
    ///         both). Both notes must be unlocked; the receiving note's holder must be an active member. What
    ///         stays in the note is at least the slot's minimum note value, or nothing: an emptied note is burned
    ///         (`Transfer(holder, 0, id)`, `SlotChanged(id, slot, 0)`).
    /// @param fromTokenId the note the value leaves
    /// @param toTokenId the note it joins
    /// @param value the value moved, in minor units
    function transferFrom(uint256 fromTokenId, uint256 toTokenId, uint256 value) external whenNotPaused {
        if (fromTokenId == toTokenId) revert SelfTransfer(fromTokenId);
        NoteWord memory n = _noteWord(fromTokenId);
        NoteWord memory t = _noteWord(toTokenId);
        uint256 slotId = n.slotId;
        if (t.slotId != slotId) revert SlotMismatch(fromTokenId, toTokenId);
        address holder = _authorizeValue(fromTokenId, n, value);
        address toHolder =
            t.holderId == n.holderId ? address(0) : _requireActiveId(t.holderId, Roles.HOLDER);
        SlotCore storage s = _movableSlot(slotId);
        if (n.lienholderId != 0) revert NoteIsLocked(fromTokenId, n.lienholderId);
        if (t.lienholderId != 0) revert NoteIsLocked(toTokenId, t.lienholderId);
        if (value == 0) revert ZeroValue();
        if (value > n.value) revert InsufficientValue(fromTokenId, n.value, value);
        uint256 remainder;
        unchecked {
            remainder = n.value - value;
            _notes[toTokenId].value = t.value + uint96(value);
        }
        // S-3: what stays is at least the slot's minimum note value; a move that empties the note burns it
        if (remainder != 0) {
            uint256 minimum = _minNoteValue(slotId, _policy);
            if (remainder < minimum) revert ValueBelowMinimum(remainder, minimum);
            _notes[fromTokenId].value = uint96(remainder);
        }
        emit TransferValue(fromTokenId, toTokenId, value);
        if (remainder == 0) {
            _erase(fromTokenId, n.holderId, holder, slotId);
            s.liveNotes -= 1;
        }
        if (toHolder != address(0)) _checkReceiver(toHolder, fromTokenId, toTokenId, value);
    }

    /// @notice ERC-3525 value approval: lets `operator` move up to `value` of the note. Voided when the note
    ///         changes hands.
    /// @param tokenId the caller's note
    /// @param operator the account allowed
    /// @param value the value it may move, in minor units
    function approve(uint256 tokenId, address operator, uint256 value) external whenNotPaused {
        NoteWord memory n = _noteWord(tokenId);
        address holder = _accountOf(n.holderId);
        if (operator == holder) revert ApprovalToHolder(operator);
        if (msg.sender != holder && !_isApprovedFor(tokenId, n, msg.sender)) revert NotApproved(tokenId, msg.sender);
        _allowance[tokenId][_markApproved(tokenId)][operator] = value;
        emit ApprovalValue(tokenId, operator, value);
    }

    /// @notice Remaining value allowance of `operator` on the note.
    /// @param tokenId the note
    /// @param operator the account allowed
    /// @return the value it may still move
    function allowance(uint256 tokenId, address operator) external view returns (uint256) {
        _noteWord(tokenId);
        return _allowance[tokenId][_approvalState[tokenId].epoch][operator];
    }

    /// @notice Value of a note (ERC-3525 `balanceOf(tokenId)`).
    /// @param tokenId the note
    /// @return its value, in minor units
    function balanceOf(uint256 tokenId) external view returns (uint256) {
        return _noteWord(tokenId).value;
    }

    /// @notice Slot (receivable id) of a note.
    /// @param tokenId the note
    /// @return its receivable
    function slotOf(uint256 tokenId) external view returns (uint256) {
        return _noteWord(tokenId).slotId;
    }

    // ================================================================== ERC-721

    /// @notice Number of live notes held by `owner` (ERC-721).
    /// @param owner a member's current account
    /// @return its number of notes, 0 for an account that is not a member's
    function balanceOf(address owner) external view returns (uint256) {
        if (owner == address(0)) revert ZeroAddress();
        uint32 id = registry.memberIdOf(owner);
        return id == 0 ? 0 : _noteBalance[id];
    }

    /// @notice Current account of the member holding the note.
    /// @param tokenId the note
    /// @return the holder's account
    function ownerOf(uint256 tokenId) public view returns (address) {
        return _accountOf(_noteWord(tokenId).holderId);
    }

    /// @notice Moves a whole note (ERC-721). The recipient must be an active member with a holding role.
    /// @param from the note's holder
    /// @param to the recipient
    /// @param tokenId the note
    function transferFrom(address from, address to, uint256 tokenId) public whenNotPaused {
        NoteWord memory n = _noteWord(tokenId);
        address holder = _requireActiveId(n.holderId, Roles.HOLDER);
        if (from != holder) revert NotNoteHolder(tokenId, from);
        if (msg.sender != holder && !_isApprovedFor(tokenId, n, msg.sender)) revert NotApproved(tokenId, msg.sender);
        uint32 toId = _requireActive(to, Roles.HOLDER);
        if (toId == n.holderId) revert SelfTransfer(tokenId);
        _movableSlot(n.slotId);
        if (n.lienholderId != 0) revert NoteIsLocked(tokenId, n.lienholderId);
        _moveWhole(tokenId, n, toId, holder, to);
    }

    /// @notice ERC-721 safe transfer: a contract recipient must accept the note.
    /// @param from the note's holder
    /// @param to the recipient
    /// @param tokenId the note
    /// @param data passed to the recipient's onERC721Received
    function safeTransferFrom(address from, address to, uint256 tokenId, bytes memory data) public {
        transferFrom(from, to, tokenId);
        ERC721Utils.checkOnERC721Received(msg.sender, from, to, tokenId, data);
    }

    /// @notice ERC-721 safe transfer without data.
    /// @param from the note's holder
    /// @param to the recipient
    /// @param tokenId the note
    function safeTransferFrom(address from, address to, uint256 tokenId) external {
        safeTransferFrom(from, to, tokenId, "");
    }

    // ================================================================== locks

    /// @inheritdoc IReceivableNotes
    function lock(uint256 noteId, address lienholder) external whenNotPaused {
        NoteWord memory n = _noteWord(noteId);
        address holder = _requireActiveId(n.holderId, Roles.HOLDER);
        if (msg.sender != holder) revert NotNoteHolder(noteId, msg.sender);
        if (n.lienholderId != 0) revert NoteIsLocked(noteId, n.lienholderId);
        uint32 lienId = _requireActive(lienholder, Roles.FINANCIER);
        if (lienId == n.holderId) revert InvalidRecipient(lienholder);
        _movableSlot(n.slotId);
        _notes[noteId].lienholderId = lienId;
        emit NoteLocked(noteId, lienId);
    }

    /// @inheritdoc IReceivableNotes
    function release(uint256 noteId) external whenNotPaused {
        NoteWord memory n = _noteWord(noteId);
        if (n.lienholderId == 0) revert NoteNotLocked(noteId);
        if (_accountOf(n.lienholderId) != msg.sender) revert NotLienholder(noteId, msg.sender);
        _notes[noteId].lienholderId = 0;
        emit NoteReleased(noteId, n.lienholderId);
    }

    // ================================================================== ledger hooks

    /// @inheritdoc IReceivableNotes
    function ledgerSplit(uint256 noteId, uint32 toId, uint256 value, uint32 asLienholderId, bool ignoreMaturity)
        external
        onlyLedger
        whenNotPaused
        returns (uint256 newNoteId)
    {
        NoteWord memory n = _noteWord(noteId);
        address to = _requireActiveId(toId, Roles.HOLDER);
        uint256 slotId = n.slotId;
        SlotCore storage s = _ledgerSlot(slotId, ignoreMaturity);
        if (n.lienholderId != 0 && n.lienholderId != asLienholderId) revert NoteIsLocked(noteId, n.lienholderId);
        if (toId == n.holderId) revert SelfTransfer(noteId);
        if (ignoreMaturity) {
            // Recovery (foreclosure, recourse): exact amounts, not bounded by the split policy.
            if (value == 0) revert ZeroValue();
            if (value > n.value) revert InsufficientValue(noteId, n.value, value);
        } else {
            Policy memory p = _policy;
            _checkSplitValue(noteId, n.value, value, _minNoteValue(slotId, p));
            if (s.liveNotes >= p.maxLiveNotes) revert TooManyLiveNotes(slotId, p.maxLiveNotes);
        }
        s.liveNotes += 1;
        newNoteId = ++_policy.noteCount;
        _splitInto(noteId, n, newNoteId, toId, to, value);
    }

    /// @inheritdoc IReceivableNotes
    function ledgerTransfer(uint256 noteId, uint32 toId, uint32 asLienholderId, bool ignoreMaturity)
        external
        onlyLedger
        whenNotPaused
    {
        NoteWord memory n = _noteWord(noteId);
        address to = _requireActiveId(toId, Roles.HOLDER);
        _ledgerSlot(n.slotId, ignoreMaturity);
        if (n.lienholderId != 0 && n.lienholderId != asLienholderId) revert NoteIsLocked(noteId, n.lienholderId);
        if (toId == n.holderId) revert SelfTransfer(noteId);
        if (n.lienholderId != 0) {
            emit NoteReleased(noteId, n.lienholderId);
            n.lienholderId = 0;
        }
        _moveWhole(noteId, n, toId, _accountOf(n.holderId), to);
    }

    /// @inheritdoc IReceivableNotes
    function ledgerLock(uint256 noteId, uint32 lienholderId) external onlyLedger whenNotPaused {
        NoteWord memory n = _noteWord(noteId);
        if (n.lienholderId != 0) revert NoteIsLocked(noteId, n.lienholderId);
        _requireActiveId(lienholderId, Roles.FINANCIER);
        _notes[noteId].lienholderId = lienholderId;
        emit NoteLocked(noteId, lienholderId);
    }

    /// @inheritdoc IReceivableNotes
    function ledgerRelease(uint256 noteId) external onlyLedger whenNotPaused {
        NoteWord memory n = _noteWord(noteId);
        if (n.lienholderId == 0) revert NoteNotLocked(noteId);
        _notes[noteId].lienholderId = 0;
        emit NoteReleased(noteId, n.lienholderId);
    }

    /// @inheritdoc IReceivableNotes
    function burnForSettlement(uint256 noteId, uint256 slotId)
        external
        onlyLedger
        whenNotPaused
        returns (address holder, uint256 value)
    {
        uint32 holderId;
        (holderId, value) = _burn(noteId, slotId);
        _slots[slotId].liveNotes -= 1;
        holder = _accountOf(holderId);
        emit Transfer(holder, address(0), noteId);
    }

    /// @inheritdoc IReceivableNotes
    function burnBatchForSettlement(uint256 slotId, uint256[] calldata noteIds)
        external
        onlyLedger
        whenNotPaused
        returns (address[] memory holders, uint256[] memory values)
    {
        uint256 count = noteIds.length;
        holders = new address[](count);
        values = new uint256[](count);
        for (uint256 i; i < count; ++i) {
            uint256 noteId = noteIds[i];
            (uint32 holderId, uint256 value) = _burn(noteId, slotId);
            address holder = _accountOf(holderId);
            holders[i] = holder;
            values[i] = value;
            emit Transfer(holder, address(0), noteId);
        }
        _slots[slotId].liveNotes -= uint32(count);
    }

    /// @inheritdoc IReceivableNotes
    function setSlotStatus(uint256 slotId, SlotStatus status) external onlyLedger whenNotPaused {
        SlotCore storage s = _slots[slotId];
        SlotStatus current = s.status;
        if (current == SlotStatus.None) revert UnknownSlot(slotId);
        if (current != SlotStatus.Active || status == SlotStatus.Active || status == SlotStatus.None) {
            revert InvalidStatusChange(slotId, current, status);
        }
        s.status = status;
        emit SlotStatusChanged(slotId, status);
    }

    // ================================================================== policy

    /// @inheritdoc IReceivableNotes
    function setPolicy(uint256 minSplitValue_, uint256 maxLiveNotesPerSlot_, uint64 maxTenor_) external onlyOperator {
        if (minSplitValue_ == 0 || minSplitValue_ > type(uint64).max) revert InvalidPolicy(minSplitValue_);
        if (maxLiveNotesPerSlot_ == 0 || maxLiveNotesPerSlot_ > MAX_LIVE_NOTES_LIMIT) {
            revert InvalidPolicy(maxLiveNotesPerSlot_);
        }
        if (maxTenor_ < MIN_TENOR_LIMIT || maxTenor_ > MAX_TENOR_LIMIT) revert InvalidPolicy(maxTenor_);
        Policy storage p = _policy;
        p.minSplitValue = uint64(minSplitValue_);
        p.maxLiveNotes = uint32(maxLiveNotesPerSlot_);
        p.maxTenor = maxTenor_;
        emit PolicySet(minSplitValue_, maxLiveNotesPerSlot_, maxTenor_);
    }

    /// @inheritdoc LedgerAccess
    function paused() public view override returns (bool) {
        return _policy.paused;
    }

    function _setPaused(bool value) internal override {
        _policy.paused = value;
    }

    // ================================================================== views

    /// @inheritdoc IReceivableNotes
    function receivable(uint256 slotId) external view returns (Receivable memory r) {
        SlotCore memory s = _slots[slotId];
        if (s.status == SlotStatus.None) revert UnknownSlot(slotId);
        SlotTerms memory t = _terms[slotId];
        r = Receivable(
            s.obligorId,
            s.creditorId,
            s.status,
            s.liveNotes,
            s.issuedAt,
            s.maturity,
            t.faceValue,
            t.cashToken,
            _invoiceOf[slotId],
            _orderOf[slotId]
        );
    }

    /// @inheritdoc IReceivableNotes
    function note(uint256 noteId) external view returns (Note memory) {
        NoteWord memory n = _noteWord(noteId);
        return Note(n.holderId, n.lienholderId, n.slotId, n.value, n.parentId);
    }

    /// @inheritdoc IReceivableNotes
    function slotOfInvoice(bytes32 invoiceHash) external view returns (uint256) {
        return _slotOfInvoice[invoiceHash];
    }

    /// @inheritdoc IReceivableNotes
    function slotOfOrder(uint256 orderId) external view returns (uint256) {
        return _slotOfOrder[orderId];
    }

    /// @inheritdoc IReceivableNotes
    function lienholderOf(uint256 noteId) external view returns (uint32) {
        return _noteWord(noteId).lienholderId;
    }

    /// @inheritdoc IReceivableNotes
    function parentOf(uint256 noteId) external view returns (uint256) {
        return _noteWord(noteId).parentId;
    }

    /// @inheritdoc IReceivableNotes
    function firstNoteOf(uint256 slotId) external view returns (uint256) {
        return _firstNote[slotId];
    }

    /// @inheritdoc IReceivableNotes
    function slotCount() external view returns (uint256) {
        return _slotCount;
    }

    /// @inheritdoc IReceivableNotes
    function noteCount() external view returns (uint256) {
        return _policy.noteCount;
    }

    /// @inheritdoc IReceivableNotes
    function minSplitValue() external view returns (uint256) {
        return _policy.minSplitValue;
    }

    /// @inheritdoc IReceivableNotes
    function minNoteValue(uint256 slotId) external view returns (uint256) {
        if (_slots[slotId].status == SlotStatus.None) revert UnknownSlot(slotId);
        return _minNoteValue(slotId, _policy);
    }

    /// @inheritdoc IReceivableNotes
    function maxLiveNotesPerSlot() external view returns (uint256) {
        return _policy.maxLiveNotes;
    }

    /// @inheritdoc IReceivableNotes
    function maxTenor() external view returns (uint64) {
        return _policy.maxTenor;
    }

    // ================================================================== internals

    function _holderIdOf(uint256 tokenId) internal view override returns (uint32) {
        return _noteWord(tokenId).holderId;
    }

    function _setTokenApproval(uint256 tokenId, address to) internal override {
        _tokenApproval[tokenId] = TokenApproval(to, _markApproved(tokenId));
    }

    function _tokenApprovalOf(uint256 tokenId) internal view override returns (address) {
        TokenApproval memory a = _tokenApproval[tokenId];
        return a.epoch == _approvalState[tokenId].epoch ? a.operator : address(0);
    }

    function _markRotationTransfer(uint256 tokenId, uint32 memberId, uint32 rotationId)
        internal
        override
        returns (bool)
    {
        if (_notes[tokenId].holderId != memberId) return false;
        ApprovalState memory a = _approvalState[tokenId];
        if (a.rotationMark == rotationId) return false;
        _approvalState[tokenId] = ApprovalState(a.epoch, a.hasApprovals, rotationId);
        return true;
    }

    function _heldBy(uint32 memberId) internal view override returns (uint256) {
        return _noteBalance[memberId];
    }

    function _noteWord(uint256 noteId) private view returns (NoteWord memory n) {
        n = _notes[noteId];
        if (n.holderId == 0) revert UnknownNote(noteId);
    }

    /// @dev A slot whose notes may move by holder action: Active and before maturity.
    function _movableSlot(uint256 slotId) private view returns (SlotCore storage s) {
        s = _slots[slotId];
        if (s.status != SlotStatus.Active) revert SlotNotActive(slotId, s.status);
        if (block.timestamp >= s.maturity) revert SlotMatured(slotId, s.maturity);
    }

    /// @dev Ledger moves: like _movableSlot, but recovery moves (ignoreMaturity) also work after maturity and
    ///      on a defaulted slot (recourse).
    function _ledgerSlot(uint256 slotId, bool ignoreMaturity) private view returns (SlotCore storage s) {
        if (!ignoreMaturity) return _movableSlot(slotId);
        s = _slots[slotId];
        if (s.status != SlotStatus.Active && s.status != SlotStatus.Defaulted) revert SlotNotActive(slotId, s.status);
    }

    function _checkSplitValue(uint256 noteId, uint256 available, uint256 value, uint256 minimum) private pure {
        if (value == 0) revert ZeroValue();
        if (value > available) revert InsufficientValue(noteId, available, value);
        if (value < minimum) revert ValueBelowMinimum(value, minimum);
        uint256 remainder = available - value;
        if (remainder != 0 && remainder < minimum) revert ValueBelowMinimum(remainder, minimum);
    }

    /// @dev Callers checked `value <= n.value`; note ids are below 2**48 (the counter is a checked uint48).
    function _splitInto(uint256 fromId, NoteWord memory n, uint256 newNoteId, uint32 toId, address to, uint256 value)
        private
    {
        unchecked {
            _notes[fromId].value = n.value - uint96(value);
        }
        _mintSplit(fromId, n.slotId, newNoteId, toId, to, value);
    }

    /// @dev A split's new note and its events; the caller writes the source note's value.
    function _mintSplit(uint256 fromId, uint256 slotId, uint256 newNoteId, uint32 toId, address to, uint256 value)
        private
    {
        unchecked {
            _notes[newNoteId] = NoteWord(toId, 0, uint96(value), uint48(slotId), uint48(fromId));
            ++_noteBalance[toId];
        }
        emit Transfer(address(0), to, newNoteId);
        emit SlotChanged(newNoteId, 0, slotId);
        emit TransferValue(fromId, newNoteId, value);
        emit NoteSplit(fromId, newNoteId, slotId, value);
    }

    function _moveWhole(uint256 noteId, NoteWord memory n, uint32 toId, address from, address to) private {
        unchecked {
            _notes[noteId] = NoteWord(toId, n.lienholderId, n.value, n.slotId, n.parentId);
            ApprovalState memory a = _approvalState[noteId];
            if (a.hasApprovals || a.rotationMark != 0) {
                _forgetRotationTransfer(n.holderId, a.rotationMark);
                _approvalState[noteId] = ApprovalState(a.hasApprovals ? a.epoch + 1 : a.epoch, false, 0);
            }
            --_noteBalance[n.holderId];
            ++_noteBalance[toId];
        }
        emit Transfer(from, to, noteId);
    }

    function _burn(uint256 noteId, uint256 slotId) private returns (uint32 holderId, uint256 value) {
        NoteWord memory n = _noteWord(noteId);
        if (n.slotId != slotId) revert NoteNotInSlot(noteId, slotId);
        if (n.lienholderId != 0) revert NoteIsLocked(noteId, n.lienholderId);
        holderId = n.holderId;
        value = n.value;
        emit TransferValue(noteId, 0, value);
        _erase(noteId, holderId, address(0), slotId);
    }

    /// @dev Deletes a note: `SlotChanged(id, slot, 0)` always, and `Transfer(holder, 0, id)` when `holder` is
    ///      given (the settlement batches emit it themselves, with the holder's account they return).
    function _erase(uint256 noteId, uint32 holderId, address holder, uint256 slotId) private {
        delete _notes[noteId];
        unchecked {
            --_noteBalance[holderId];
        }
        _forgetRotationTransfer(holderId, _approvalState[noteId].rotationMark);
        if (holder != address(0)) emit Transfer(holder, address(0), noteId);
        emit SlotChanged(noteId, slotId, 0);
    }

    /// @dev S-3: the smallest value a note of the slot may keep or be split to: the policy's absolute minimum,
    ///      or `ceil(face / maxLiveNotes)` when larger, so the live notes of a slot never exceed the cap.
    function _minNoteValue(uint256 slotId, Policy memory p) private view returns (uint256 minimum) {
        uint256 cap = p.maxLiveNotes;
        minimum = (uint256(_terms[slotId].faceValue) + cap - 1) / cap;
        if (minimum < p.minSplitValue) minimum = p.minSplitValue;
    }

    /// @dev Holder, approved-for-all operator, note-approved operator, or a value allowance (spent).
    function _authorizeValue(uint256 noteId, NoteWord memory n, uint256 value) private returns (address holder) {
        holder = _requireActiveId(n.holderId, Roles.HOLDER);
        if (msg.sender == holder || _isApprovedFor(noteId, n, msg.sender)) return holder;
        if (_formerIdOf(msg.sender) != 0) revert NotApproved(noteId, msg.sender);
        uint64 epoch = _approvalState[noteId].epoch;
        uint256 allowed = _allowance[noteId][epoch][msg.sender];
        if (allowed == 0) revert NotApproved(noteId, msg.sender);
        if (allowed < value) revert InsufficientAllowance(noteId, msg.sender, allowed, value);
        if (allowed != type(uint256).max) {
            unchecked {
                _allowance[noteId][epoch][msg.sender] = allowed - value;
            }
        }
    }

    /// @dev Approved for all of the holder's notes or for this note (its approval still current).
    function _isApprovedFor(uint256 noteId, NoteWord memory n, address operator) private view returns (bool) {
        return _isApproved(n.holderId, operator, _tokenApprovalOf(noteId) == operator);
    }

    /// @dev Records that the note has approvals (so a whole transfer voids them) and returns the current epoch.
    function _markApproved(uint256 noteId) private returns (uint64 epoch) {
        ApprovalState memory a = _approvalState[noteId];
        if (!a.hasApprovals) _approvalState[noteId] = ApprovalState(a.epoch, true, a.rotationMark);
        return a.epoch;
    }

    /// @dev ERC-3525: a contract recipient that declares IERC3525Receiver must accept the value.
    function _checkReceiver(address to, uint256 fromId, uint256 toId, uint256 value) private {
        if (to.code.length == 0) return;
        try IERC165(to).supportsInterface(ERC3525_RECEIVER_ID) returns (bool supported) {
            if (!supported) return;
        } catch {
            return;
        }
        bytes4 answer = IERC3525Receiver(to).onERC3525Received(msg.sender, fromId, toId, value, "");
        if (answer != IERC3525Receiver.onERC3525Received.selector) revert RejectedByReceiver(to);
    }
}
