// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IERC721} from "@openzeppelin/contracts/token/ERC721/IERC721.sol";
import {IMemberHoldings} from "../interfaces/IMemberHoldings.sol";
import {IMemberRegistry} from "../interfaces/IMemberRegistry.sol";
import {LedgerAccess} from "./LedgerAccess.sol";
import {Roles} from "./Roles.sol";

/// @title What the two token contracts that record holders by member id share (ReceivableNotes, OrderBook):
///        the ERC-721 approvals, the rotation `Transfer` events and the registry calls.
/// @notice Approvals: an operator approved for all is kept per holder member id (so it survives the holder's key
///         rotation); a token approval is kept by the token contract, which voids it when the token moves. A
///         member's rotated-out account keeps no approvals others granted it.
/// @notice Rotation: while a member's rotation is not finished the registry refuses the member in every check, so its
///         tokens neither arrive nor move by its own action; they can only leave by ledger recovery moves or
///         burns, which call `_forgetRotationTransfer`. Each token carries the id of the rotation its
///         `Transfer` was emitted for; the per-member tally counts them, so
///         `rotationPending = held - announced` is exact.
abstract contract MemberHoldings is LedgerAccess, IMemberHoldings, IERC721 {
    struct RotationTally {
        uint32 rotationId;
        uint32 announced;
    }

    mapping(uint32 memberId => RotationTally) private _rotationTally;
    mapping(uint32 memberId => mapping(address operator => bool)) private _operatorApproval;

    // ================================================================== ERC-721 approvals

    /// @notice ERC-721 approval of one operator for a whole token (voided when the token changes hands).
    /// @param to the operator approved, address(0) to clear
    /// @param tokenId the token (the holder or an operator approved for all of the holder's tokens approves)
    function approve(address to, uint256 tokenId) external whenNotPaused {
        uint32 holderId = _holderIdOf(tokenId);
        address holder = _accountOf(holderId);
        if (to == holder) revert ApprovalToHolder(to);
        if (msg.sender != holder && !_operatorApproval[holderId][msg.sender]) revert NotApproved(tokenId, msg.sender);
        _setTokenApproval(tokenId, to);
        emit Approval(holder, to, tokenId);
    }

    /// @notice ERC-721 operator approval over all of the caller's tokens (kept by member id).
    /// @param operator the account
    /// @param approved whether it may move them
    function setApprovalForAll(address operator, bool approved) external whenNotPaused {
        uint32 id = _requireActive(msg.sender, Roles.HOLDER);
        if (operator == msg.sender) revert ApprovalToHolder(operator);
        _operatorApproval[id][operator] = approved;
        emit ApprovalForAll(msg.sender, operator, approved);
    }

    /// @notice The operator approved for a token, if its approval is current.
    /// @param tokenId the token
    /// @return the operator, address(0) for none
    function getApproved(uint256 tokenId) external view returns (address) {
        _holderIdOf(tokenId);
        return _tokenApprovalOf(tokenId);
    }

    /// @notice Whether `operator` may move all of `owner`'s tokens.
    /// @param owner a member's account
    /// @param operator the account asked about
    /// @return whether it is approved for all
    function isApprovedForAll(address owner, address operator) external view returns (bool) {
        return _operatorApproval[registry.memberIdOf(owner)][operator];
    }

    /// @dev Whether `operator` may move a token of `holderId`: approved for all of its tokens, or for this one
    ///      (`tokenApproved`). A member's rotated-out account (a lost or stolen key) keeps no approvals.
    function _isApproved(uint32 holderId, address operator, bool tokenApproved) internal view returns (bool) {
        return (tokenApproved || _operatorApproval[holderId][operator]) && _formerIdOf(operator) == 0;
    }

    /// @dev The holder's member id of an existing token (reverts for an unknown one).
    function _holderIdOf(uint256 tokenId) internal view virtual returns (uint32);

    /// @dev Records the token approval (voided by the token contract when the token moves).
    function _setTokenApproval(uint256 tokenId, address to) internal virtual;

    /// @dev The current token approval, address(0) for none.
    function _tokenApprovalOf(uint256 tokenId) internal view virtual returns (address);

    // ================================================================== registry calls
    // One call site per registry function: each external call inlined costs bytecode (EIP-170 limit).

    function _accountOf(uint32 memberId) internal view returns (address) {
        return registry.accountOf(memberId);
    }

    function _requireActiveId(uint32 memberId, uint8 roleMask) internal view returns (address) {
        return registry.requireActiveId(memberId, roleMask);
    }

    function _requireActive(address account, uint8 roleMask) internal view returns (uint32) {
        return registry.requireActive(account, roleMask);
    }

    function _formerIdOf(address account) internal view returns (uint32) {
        return registry.formerMemberIdOf(account);
    }

    // ================================================================== rotation Transfer events

    /// @inheritdoc IMemberHoldings
    function emitRotationTransfers(uint32 memberId, uint256[] calldata tokenIds) external returns (uint256 emitted) {
        (uint32 rotationId, address previous, bool rotating) = registry.rotationOf(memberId);
        if (!rotating) revert IMemberRegistry.MemberNotRotating(memberId);
        address current = _accountOf(memberId);
        RotationTally memory t = _rotationTally[memberId];
        if (t.rotationId != rotationId) t = RotationTally(rotationId, 0);
        uint256 count = tokenIds.length;
        for (uint256 i; i < count; ++i) {
            uint256 tokenId = tokenIds[i];
            if (!_markRotationTransfer(tokenId, memberId, rotationId)) continue;
            emit Transfer(previous, current, tokenId);
            ++emitted;
        }
        t.announced += uint32(emitted);
        _rotationTally[memberId] = t;
    }

    /// @inheritdoc IMemberHoldings
    function rotationPending(uint32 memberId) external view returns (uint256 pending) {
        (uint32 rotationId,, bool rotating) = registry.rotationOf(memberId);
        if (!rotating) return 0;
        RotationTally memory t = _rotationTally[memberId];
        return _heldBy(memberId) - (t.rotationId == rotationId ? t.announced : 0);
    }

    /// @dev Records that the rotation `Transfer` of `tokenId` is emitted; false (nothing recorded) when the token
    ///      is not held by `memberId` or was already announced for `rotationId`.
    function _markRotationTransfer(uint256 tokenId, uint32 memberId, uint32 rotationId)
        internal
        virtual
        returns (bool marked);

    /// @dev Number of tokens the member holds here.
    function _heldBy(uint32 memberId) internal view virtual returns (uint256);

    /// @dev A token leaves `holderId` (or is burned) carrying the rotation mark `rotationId` (0 = none): it no
    ///      longer counts as announced for the member's rotation.
    function _forgetRotationTransfer(uint32 holderId, uint32 rotationId) internal {
        if (rotationId == 0) return;
        RotationTally storage t = _rotationTally[holderId];
        if (t.rotationId == rotationId) --t.announced;
    }
}
