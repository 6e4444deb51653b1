// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

/// @title Permissioned settlement token (a bank deposit token), 2 decimals.
/// @notice Financiers mint to members against deposits and burn on withdrawal. Only active members with a
///         holding role send or receive. Ledger contracts move cash as part of atomic workflows.
interface ICashToken is IERC20 {
    error NotFinancier(address account);
    error InvalidAmount(uint256 amount);

    event Minted(address indexed by, address indexed to, uint256 amount, bytes32 depositRef);
    event Burned(address indexed by, address indexed from, uint256 amount, bytes32 depositRef);

    function decimals() external view returns (uint8);
    /// @notice A financier mints `amount` to a member against a deposit (`depositRef` = hash of the deposit or withdrawal reference).
    function mint(address to, uint256 amount, bytes32 depositRef) external;
    /// @notice A financier burns `amount` from a member on withdrawal.
    function burn(address from, uint256 amount, bytes32 depositRef) external;
    /// @notice Ledger contracts only: moves cash as one leg of an atomic workflow the payer authorised
    ///         (an offer it made, a loan it repays, a receivable it funds). Member checks still apply.
    function ledgerTransfer(address from, address to, uint256 amount) external;
    /// @notice Ledger contracts only: pays several recipients from `from` (settlement batches).
    function ledgerPayout(address from, address[] calldata to, uint256[] calldata amounts) external;
}
