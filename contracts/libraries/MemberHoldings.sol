// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IERC721} from "@openzeppelin/contracts/token/ERC721/IERC721.sol";
import {IMemberHoldings} from "../interfaces/IMemberHoldings.sol";
import {IMemberRegistry} from "../interfaces/IMemberRegistry.sol";
import {LedgerAccess} from "./LedgerAccess.sol";

/// @title Rotation `Transfer` events of a token contract that records holders by member id.
/// @notice While a member's rotation is not finished the registry refuses the member in every check, so its
///         tokens neither arrive nor move by its own action; they can only leave by ledger recovery moves or
///         burns, which call `_forgetRotationTransfer`. Each token carries the id of the rotation its
///         `Transfer` was emitted for; the per-member tally counts them, so
///         `rotationPending = held - announced` is exact.
abstract contract MemberHoldings is LedgerAccess, IMemberHoldings {
    struct RotationTally {
        uint32 rotationId;
        uint32 announced;
    }

    mapping(uint32 memberId => RotationTally) private _rotationTally;

    /// @inheritdoc IMemberHoldings
    function emitRotationTransfers(uint32 memberId, uint256[] calldata tokenIds) external returns (uint256 emitted) {
        (uint32 rotationId, address previous, bool rotating) = registry.rotationOf(memberId);
        if (!rotating) revert IMemberRegistry.MemberNotRotating(memberId);
        address current = registry.accountOf(memberId);
        RotationTally memory t = _rotationTally[memberId];
        if (t.rotationId != rotationId) t = RotationTally(rotationId, 0);
        uint256 count = tokenIds.length;
        for (uint256 i; i < count; ++i) {
            uint256 tokenId = tokenIds[i];
            if (!_markRotationTransfer(tokenId, memberId, rotationId)) continue;
            emit IERC721.Transfer(previous, current, tokenId);
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
