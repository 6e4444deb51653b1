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

    function valueDecimals() external view returns (uint8);
    function balanceOf(uint256 _tokenId) external view returns (uint256);
    function slotOf(uint256 _tokenId) external view returns (uint256);
    function approve(uint256 _tokenId, address _operator, uint256 _value) external;
    function allowance(uint256 _tokenId, address _operator) external view returns (uint256);
    function transferFrom(uint256 _fromTokenId, uint256 _toTokenId, uint256 _value) external;
    function transferFrom(uint256 _fromTokenId, address _to, uint256 _value) external returns (uint256);
}

/// @title ERC-3525 metadata extension (interface id 0xe1600902 for its own two functions; it extends
///        ERC-721 metadata, 0x5b5e139f: name, symbol, tokenURI).
interface IERC3525Metadata {
    function contractURI() external view returns (string memory);
    function slotURI(uint256 _slot) external view returns (string memory);
}

/// @title ERC-3525 receiver (interface id 0x009ce20b).
interface IERC3525Receiver {
    function onERC3525Received(
        address _operator,
        uint256 _fromTokenId,
        uint256 _toTokenId,
        uint256 _value,
        bytes calldata _data
    ) external returns (bytes4);
}
