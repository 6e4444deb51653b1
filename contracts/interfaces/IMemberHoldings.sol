// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

/// @title Token contracts that record holders by member id (ReceivableNotes, OrderBook).
/// @notice A key rotation (`MemberRegistry.rotateAccount`) changes `ownerOf` of every token the member holds.
///         ERC-721 wants a `Transfer` event for every change of ownership, so the rotation freezes the member
///         and its tokens are announced in bounded batches: `emitRotationTransfers` emits
///         `Transfer(oldAccount, newAccount, id)` once per token; `MemberRegistry.finishRotation` succeeds
///         once `rotationPending` is 0 on every token contract.
interface IMemberHoldings {
    /// @notice The caller may not move or approve the token (neither its holder nor an approved operator).
    error NotApproved(uint256 tokenId, address operator);
    /// @notice A holder cannot approve itself.
    error ApprovalToHolder(address operator);

    /// @notice Emits `Transfer(previous account, current account, id)` for tokens of a member whose rotation
    ///         is not finished. Anyone may call it: each event is checked to be true and is emitted once. Ids
    ///         the member does not hold (any more) or that were already announced are skipped, so a retried or
    ///         raced batch does not fail.
    /// @param memberId The rotating member.
    /// @param tokenIds Tokens it holds whose rotation `Transfer` was not emitted yet (from an indexer).
    /// @return emitted The number of `Transfer` events emitted.
    function emitRotationTransfers(uint32 memberId, uint256[] calldata tokenIds) external returns (uint256 emitted);

    /// @notice Tokens of the member whose rotation `Transfer` is still to be emitted (0 when not rotating).
    /// @param memberId The member.
    /// @return pending The number of tokens still to announce.
    function rotationPending(uint32 memberId) external view returns (uint256 pending);
}
