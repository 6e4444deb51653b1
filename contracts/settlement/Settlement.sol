// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {ICashToken} from "../interfaces/ICashToken.sol";
import {IMemberRegistry} from "../interfaces/IMemberRegistry.sol";
import {IReceivableNotes} from "../interfaces/IReceivableNotes.sol";
import {IRecourseBook} from "../interfaces/IRecourseBook.sol";
import {ISettlement} from "../interfaces/ISettlement.sol";
import {LedgerAccess} from "../libraries/LedgerAccess.sol";

/// @title Settlement: the obligor funds a receivable; at maturity holders are paid and notes burned.
/// @notice The obligor funds (partially or fully, any time). At or after maturity, once fully funded, anyone (a
///         keeper) pays a batch of notes (ids from the indexer, each checked) and any holder can redeem its own
///         note. After maturity plus the grace period an underfunded receivable can be marked Defaulted: the
///         obligor's default is recorded and the funds are paid pro rata as holders claim.
contract Settlement is ReentrancyGuard, LedgerAccess, ISettlement {
    IReceivableNotes public immutable notes;
    ICashToken public immutable cash;
    /// @notice Financing: knows which notes were bought with recourse (their default claim is their holder's).
    IRecourseBook public immutable recourseBook;

    /// @dev The first state variable: packed with LedgerAccess's pause flag (ReentrancyGuard is inherited first).
    uint64 private _gracePeriod = DEFAULT_GRACE_PERIOD;
    mapping(uint256 slotId => Fund) private _funds;
    uint64 private constant DEFAULT_GRACE_PERIOD = 7 days;
    uint64 private constant MIN_GRACE_PERIOD = 1 days;
    uint64 private constant MAX_GRACE_PERIOD = 90 days;


    constructor(IMemberRegistry registry_, IReceivableNotes notes_, ICashToken cash_, IRecourseBook recourseBook_)
        LedgerAccess(registry_)
    {
        if (address(notes_) == address(0) || address(cash_) == address(0) || address(recourseBook_) == address(0)) {
            revert ZeroAddress();
        }
        notes = notes_;
        cash = cash_;
        recourseBook = recourseBook_;
        emit GracePeriodSet(DEFAULT_GRACE_PERIOD);
    }

    /// @inheritdoc ISettlement
    function fund(uint256 slotId, uint256 amount) external nonReentrant whenNotPaused {
        IReceivableNotes.Receivable memory r = _activeSlot(slotId);
        if (registry.accountOf(r.obligorId) != msg.sender) revert NotObligor(slotId, msg.sender);
        if (r.cashToken != address(cash)) revert CurrencyMismatch(r.cashToken, address(cash));
        Fund storage f = _funds[slotId];
        if (amount == 0) revert InvalidAmount(amount);
        if (f.funded + amount > r.faceValue) revert Overfunded(slotId, f.funded, amount, r.faceValue);
        f.funded += uint128(amount);
        cash.ledgerTransfer(msg.sender, address(this), amount);
        emit SlotFunded(slotId, amount, f.funded);
    }

    /// @inheritdoc ISettlement
    function settle(uint256 slotId, uint256[] calldata noteIds) external nonReentrant whenNotPaused {
        if (noteIds.length == 0) revert EmptyBatch();
        IReceivableNotes.Receivable memory r = _payableSlot(slotId);
        (address[] memory holders, uint256[] memory values) = notes.burnBatchForSettlement(slotId, noteIds);
        uint256 total;
        for (uint256 i; i < values.length; ++i) {
            total += values[i];
        }
        _payOut(slotId, r, holders, values, total);
    }

    /// @inheritdoc ISettlement
    function redeem(uint256 noteId) external nonReentrant whenNotPaused {
        IReceivableNotes.Note memory n = notes.note(noteId);
        if (registry.accountOf(n.holderId) != msg.sender) revert NotNoteHolder(noteId, msg.sender);
        IReceivableNotes.Receivable memory r = _payableSlot(n.slotId);
        (address holder, uint256 value) = notes.burnForSettlement(noteId, n.slotId);
        address[] memory holders = new address[](1);
        uint256[] memory values = new uint256[](1);
        holders[0] = holder;
        values[0] = value;
        _payOut(n.slotId, r, holders, values, value);
    }

    /// @inheritdoc ISettlement
    function markDefault(uint256 slotId) external nonReentrant whenNotPaused {
        IReceivableNotes.Receivable memory r = _activeSlot(slotId);
        uint256 defaultableAt = uint256(r.maturity) + _gracePeriod;
        if (block.timestamp < defaultableAt) revert GracePeriodNotOver(slotId, defaultableAt);
        uint128 funded = _funds[slotId].funded;
        if (funded >= r.faceValue) revert FullyFunded(slotId);
        uint128 unpaid = r.faceValue - funded;
        notes.setSlotStatus(slotId, IReceivableNotes.SlotStatus.Defaulted);
        registry.decreaseOutstanding(r.obligorId, r.faceValue);
        registry.recordDefault(r.obligorId, unpaid);
        emit SlotDefaulted(slotId, funded, unpaid);
    }

    /// @inheritdoc ISettlement
    function claimDefaulted(uint256 slotId, uint256[] calldata noteIds) external nonReentrant whenNotPaused {
        if (noteIds.length == 0) revert EmptyBatch();
        IReceivableNotes.Receivable memory r = notes.receivable(slotId);
        if (r.status != IReceivableNotes.SlotStatus.Defaulted) revert SlotNotDefaulted(slotId, r.status);
        (address[] memory holders, uint256[] memory values) = notes.burnBatchForSettlement(slotId, noteIds);
        if (msg.sender != address(recourseBook)) {
            for (uint256 i; i < holders.length; ++i) {
                if (holders[i] == msg.sender) continue;
                uint256 purchaseId = recourseBook.recoursePurchaseOf(noteIds[i]);
                if (purchaseId != 0) revert NoteUnderRecourse(noteIds[i], purchaseId); // S-2
            }
        }
        Fund storage f = _funds[slotId];
        uint256 redeemed = f.valueRedeemed;
        uint256 paidBefore = f.paid;
        uint256 paid = paidBefore;
        uint256 value;
        for (uint256 i; i < values.length; ++i) {
            value += values[i];
            redeemed += values[i];
            uint256 due = redeemed * f.funded / r.faceValue;
            values[i] = due - paid;
            paid = due;
        }
        f.valueRedeemed = uint128(redeemed);
        f.paid = uint128(paid);
        cash.ledgerPayout(address(this), holders, values);
        emit DefaultClaimsPaid(slotId, noteIds.length, value, paid - paidBefore);
    }

    /// @inheritdoc ISettlement
    function setGracePeriod(uint64 gracePeriod_) external onlyOperator {
        if (gracePeriod_ < MIN_GRACE_PERIOD || gracePeriod_ > MAX_GRACE_PERIOD) revert InvalidGracePeriod(gracePeriod_);
        _gracePeriod = gracePeriod_;
        emit GracePeriodSet(gracePeriod_);
    }

    /// @inheritdoc ISettlement
    function funding(uint256 slotId) external view returns (Fund memory) {
        return _funds[slotId];
    }

    /// @inheritdoc ISettlement
    function gracePeriod() external view returns (uint64) {
        return _gracePeriod;
    }


    function _activeSlot(uint256 slotId) private view returns (IReceivableNotes.Receivable memory r) {
        r = notes.receivable(slotId);
        if (r.status != IReceivableNotes.SlotStatus.Active) revert IReceivableNotes.SlotNotActive(slotId, r.status);
    }

    function _payableSlot(uint256 slotId) private view returns (IReceivableNotes.Receivable memory r) {
        r = _activeSlot(slotId);
        if (block.timestamp < r.maturity) revert NotMatured(slotId, r.maturity);
        uint128 funded = _funds[slotId].funded;
        if (funded < r.faceValue) revert NotFullyFunded(slotId, funded, r.faceValue);
    }

    function _payOut(
        uint256 slotId,
        IReceivableNotes.Receivable memory r,
        address[] memory holders,
        uint256[] memory values,
        uint256 total
    ) private {
        Fund storage f = _funds[slotId];
        uint128 paid = f.paid + uint128(total);
        f.paid = paid;
        cash.ledgerPayout(address(this), holders, values);
        emit NotesPaid(slotId, holders.length, total);
        // Settled once every note is burned (zero-value notes left by a full merge included): all value is paid.
        if (paid == r.faceValue && notes.receivable(slotId).liveNotes == 0) {
            notes.setSlotStatus(slotId, IReceivableNotes.SlotStatus.Settled);
            registry.decreaseOutstanding(r.obligorId, r.faceValue);
            emit SlotSettled(slotId, paid);
        }
    }
}
