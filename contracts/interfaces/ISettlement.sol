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

    function fund(uint256 slotId, uint256 amount) external;
    function settle(uint256 slotId, uint256[] calldata noteIds) external;
    function redeem(uint256 noteId) external;
    function markDefault(uint256 slotId) external;
    function claimDefaulted(uint256 slotId, uint256[] calldata noteIds) external;
    function setGracePeriod(uint64 gracePeriod_) external;
    function funding(uint256 slotId) external view returns (Fund memory);
    function gracePeriod() external view returns (uint64);
}
