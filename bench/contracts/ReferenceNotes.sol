// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {ERC3525} from "@solvprotocol/erc-3525/ERC3525.sol";
import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @notice Bench-only: the Solv ERC-3525 reference implementation with its internal mint exposed
///         (same wrapper as ReferenceNotes in tests/contracts/Gas.t.sol).
contract ReferenceNotes is ERC3525 {
    constructor() ERC3525("Reference", "REF", 2) {}

    function mint(address to, uint256 slot, uint256 value) external returns (uint256) {
        return _mint(to, slot, value);
    }
}

/// @notice Bench-only: a plain OpenZeppelin 5 ERC-20 (no membership checks), the ERC-20 transfer baseline.
contract ReferenceToken is ERC20 {
    constructor() ERC20("Reference Cash", "RCASH") {}

    function decimals() public pure override returns (uint8) {
        return 2;
    }

    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }
}
