// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IERC721} from "@openzeppelin/contracts/token/ERC721/IERC721.sol";

/// @title ERC-3525 semi-fungible token (https://eips.ethereum.org/EIPS/eip-3525), interface id 0xd5358140.
/// @dev The EIP declares the transfer and approve functions `payable`; the selectors (and so the interface id)
///      do not depend on mutability. The ledger never takes ether, so they are non-payable here.
interface IERC3525 is IERC721 {
    event TransferValue(uint256 indexed _fromTokenId, uint256 indexed _toTokenId, uint256 _value);
    event ApprovalValue(uint256 indexed _tokenId, address indexed _operator, uint256 _value);
    event SlotChanged(uint256 indexed _tokenId, uint256 indexed _oldSlot, uint256 indexed _newSlot);

    /// @notice Decimals of the values.
    /// @return the number of decimals
    function valueDecimals() external view returns (uint8);
    /// @notice Value of a token.
    /// @param _tokenId the token
    /// @return its value
    function balanceOf(uint256 _tokenId) external view returns (uint256);
    /// @notice Slot of a token.
    /// @param _tokenId the token
    /// @return its slot
    function slotOf(uint256 _tokenId) external view returns (uint256);
    /// @notice Allows `_operator` to move up to `_value` of a token.
    /// @param _tokenId the token
    /// @param _operator the account allowed
    /// @param _value the value it may move
    function approve(uint256 _tokenId, address _operator, uint256 _value) external;
    /// @notice Value `_operator` may still move of a token.
    /// @param _tokenId the token
    /// @param _operator the account allowed
    /// @return the remaining allowance
    function allowance(uint256 _tokenId, address _operator) external view returns (uint256);
    /// @notice Moves value between two tokens of the same slot.
    /// @param _fromTokenId the token the value leaves
    /// @param _toTokenId the token it joins
    /// @param _value the value moved
    function transferFrom(uint256 _fromTokenId, uint256 _toTokenId, uint256 _value) external;
    /// @notice Moves value of a token into a new token of the same slot owned by `_to`.
    /// @param _fromTokenId the token the value leaves
    /// @param _to the new token's owner
    /// @param _value the value moved
    /// @return the new token
    function transferFrom(uint256 _fromTokenId, address _to, uint256 _value) external returns (uint256);
}

/// @title ERC-3525 metadata extension (interface id 0xe1600902 for its own two functions; it extends
///        ERC-721 metadata, 0x5b5e139f: name, symbol, tokenURI).
interface IERC3525Metadata {
    /// @notice The contract's metadata URI.
    /// @return the URI
    function contractURI() external view returns (string memory);
    /// @notice A slot's metadata URI.
    /// @param _slot the slot
    /// @return the URI
    function slotURI(uint256 _slot) external view returns (string memory);
}

/// @title ERC-3525 receiver (interface id 0x009ce20b).
interface IERC3525Receiver {
    /// @notice Called on a contract receiving value; must return its selector (0x009ce20b) to accept.
    /// @param _operator the account that moved the value
    /// @param _fromTokenId the token the value left
    /// @param _toTokenId the token it joined
    /// @param _value the value moved
    /// @param _data extra data from the caller
    /// @return the selector to accept
    function onERC3525Received(
        address _operator,
        uint256 _fromTokenId,
        uint256 _toTokenId,
        uint256 _value,
        bytes calldata _data
    ) external returns (bytes4);
}
