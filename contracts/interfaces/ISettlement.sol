// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IReceivableNotes} from "./IReceivableNotes.sol";

/// @title Settlement: obligors fund receivables, holders are paid at maturity, defaults are paid pro rata.
/// @notice The types, errors and events of `Settlement` and its external functions.
interface ISettlement {
    struct Fund {
        uint128 funded; // cash received from the obligor
        uint128 paid; // cash paid out to holders
        uint128 valueRedeemed; // face value of notes burned (pro-rata base after default)
    }

    error NotObligor(uint256 slotId, address caller);
    error InvalidAmount(uint256 amount);
    error Overfunded(uint256 slotId, uint256 funded, uint256 amount, uint256 faceValue);
    error CurrencyMismatch(address noteCurrency, address cashToken);
    error NotMatured(uint256 slotId, uint64 maturity);
    error NotFullyFunded(uint256 slotId, uint256 funded, uint256 faceValue);
    error FullyFunded(uint256 slotId);
    error GracePeriodNotOver(uint256 slotId, uint256 defaultableAt);
    error SlotNotDefaulted(uint256 slotId, IReceivableNotes.SlotStatus status);
    error NotNoteHolder(uint256 noteId, address caller);
    error EmptyBatch();
    error InvalidGracePeriod(uint64 gracePeriod);
    /// @notice S-2: the note was bought with recourse (`purchaseId`); only its holder or Financing may claim it.
    error NoteUnderRecourse(uint256 noteId, uint256 purchaseId);

    event SlotFunded(uint256 indexed slotId, uint256 amount, uint256 funded);
    event NotesPaid(uint256 indexed slotId, uint256 notes, uint256 amount);
    event SlotSettled(uint256 indexed slotId, uint256 amount);
    event SlotDefaulted(uint256 indexed slotId, uint256 funded, uint256 unpaid);
    event DefaultClaimsPaid(uint256 indexed slotId, uint256 notes, uint256 value, uint256 amount);
    event GracePeriodSet(uint64 gracePeriod);

    /// @notice The obligor pays `amount` towards the receivable (cash held here until settlement).
    /// @param slotId the receivable (Active, not yet fully funded)
    /// @param amount the cash paid, in minor units (at most what is still unfunded)
    function fund(uint256 slotId, uint256 amount) external;

    /// @notice Pays out a batch of a fully funded, matured receivable's notes (anyone may call); the notes are burned.
    /// @param slotId the receivable
    /// @param noteIds live, unlocked notes of it (from the indexer)
    function settle(uint256 slotId, uint256[] calldata noteIds) external;

    /// @notice The holder redeems its own note of a fully funded, matured receivable; the note is burned.
    /// @param noteId the caller's note
    function redeem(uint256 noteId) external;

    /// @notice Marks an underfunded receivable Defaulted after maturity plus the grace period (anyone may call).
    /// @param slotId the receivable
    function markDefault(uint256 slotId) external;

    /// @notice Pays the partial funds of a defaulted receivable pro rata to a batch of its notes (anyone may
    ///         call, except for a note bought with recourse: only its holder or Financing claims it, so the
    ///         financier's recourse right is not pre-empted, S-2); the notes are burned. Rounding is cumulative,
    ///         so the funds are paid out exactly.
    /// @param slotId the defaulted receivable
    /// @param noteIds live, unlocked notes of it (from the indexer)
    function claimDefaulted(uint256 slotId, uint256[] calldata noteIds) external;

    /// @notice Operators set the grace period between maturity and a possible default (1 to 90 days).
    /// @param gracePeriod_ the new grace period, in seconds
    function setGracePeriod(uint64 gracePeriod_) external;

    /// @notice Funding state of a receivable.
    /// @param slotId the receivable
    /// @return the cash funded and paid out so far
    function funding(uint256 slotId) external view returns (Fund memory);

    /// @notice Grace period after maturity before an underfunded receivable can be marked Defaulted.
    /// @return the grace period, in seconds
    function gracePeriod() external view returns (uint64);
}
