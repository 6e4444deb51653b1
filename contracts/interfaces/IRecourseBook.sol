// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

/// @title What Settlement asks Financing about recourse purchases (S-2).
interface IRecourseBook {
    /// @notice The recourse purchase a note was bought under (0 = none). Such a note's default claim belongs to
    ///         its holder: nobody else may burn it with `Settlement.claimDefaulted`.
    /// @param noteId The note.
    /// @return purchaseId The purchase, 0 when the note was not bought with recourse.
    function recoursePurchaseOf(uint256 noteId) external view returns (uint256 purchaseId);
}
