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

    /// @notice Minor units: 2 decimals (fen / cents).
    /// @return 2
    function decimals() external view returns (uint8);
    /// @notice A financier mints `amount` to a member against a deposit (`depositRef` = hash of the deposit or withdrawal reference).
    /// @param to the member's account (active, with a holding role)
    /// @param amount the cash minted, in minor units
    /// @param depositRef the hash of the deposit reference
    function mint(address to, uint256 amount, bytes32 depositRef) external;
    /// @notice A financier burns `amount` from a member on withdrawal.
    /// @param from the member's account (a financier other than `from` needs its allowance)
    /// @param amount the cash burned, in minor units
    /// @param depositRef the hash of the withdrawal reference
    function burn(address from, uint256 amount, bytes32 depositRef) external;
    /// @notice Ledger contracts only: moves cash as one leg of an atomic workflow the payer authorised
    ///         (an offer it made, a loan it repays, a receivable it funds). Member checks still apply.
    /// @param from the payer's account
    /// @param to the payee's account
    /// @param amount the cash moved, in minor units
    function ledgerTransfer(address from, address to, uint256 amount) external;
    /// @notice Ledger contracts only: pays several recipients from `from` (settlement batches).
    /// @param from the payer's account (the calling ledger contract's escrow)
    /// @param to the recipients' accounts
    /// @param amounts each recipient's amount, in minor units (as many as `to`)
    function ledgerPayout(address from, address[] calldata to, uint256[] calldata amounts) external;
}
