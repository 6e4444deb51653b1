// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

/// @title Permissioned settlement token (a bank deposit token), 2 decimals.
/// @notice Financiers mint to members against deposits and burn on withdrawal. Only active members with a
///         holding role send or receive. Ledger contracts move cash as part of atomic workflows.
interface ICashToken is IERC20 {
    error NotFinancier(address account);
    error InvalidAmount(uint256 amount);
    /// @notice The mint would take the financier's outstanding amount (minted minus burned) above its ceiling.
    error MintCeilingExceeded(uint32 financierId, uint256 ceiling, uint256 outstanding, uint256 amount);
    /// @notice A mint ceiling is set only for a registered member with the financier role.
    error NotAFinancier(uint32 memberId);

    event Minted(address indexed by, address indexed to, uint256 amount, bytes32 depositRef);
    event Burned(address indexed by, address indexed from, uint256 amount, bytes32 depositRef);
    /// @notice An operator set (raised or lowered) a financier's mint ceiling.
    event MintCeilingSet(uint32 indexed financierId, uint256 previousCeiling, uint256 ceiling);

    /// @notice Minor units: 2 decimals (fen / cents).
    /// @return 2
    function decimals() external view returns (uint8);
    /// @notice A financier mints `amount` to a member against a deposit (`depositRef` = hash of the deposit or withdrawal reference).
    ///         Its outstanding amount (minted minus burned) may not exceed the ceiling the operator set (0 until set).
    /// @param to the member's account (active, with a holding role)
    /// @param amount the cash minted, in minor units
    /// @param depositRef the hash of the deposit reference
    function mint(address to, uint256 amount, bytes32 depositRef) external;
    /// @notice A financier burns `amount` from a member on withdrawal; its outstanding amount drops by `amount`
    ///         (not below 0: burning cash another financier minted frees no more than it minted).
    /// @param from the member's account (a financier other than `from` needs its allowance)
    /// @param amount the cash burned, in minor units
    /// @param depositRef the hash of the withdrawal reference
    function burn(address from, uint256 amount, bytes32 depositRef) external;
    /// @notice Operators set a financier's mint ceiling: the most it may have outstanding (minted minus burned).
    ///         A ceiling below the outstanding amount stops further mints until burns bring it down.
    /// @param financierId the financier's member id
    /// @param ceiling the ceiling, in minor units
    function setMintCeiling(uint32 financierId, uint128 ceiling) external;
    /// @notice A financier's mint ceiling and its outstanding amount.
    /// @param financierId the financier's member id
    /// @return ceiling the most it may have outstanding, in minor units (0 until an operator sets it)
    /// @return outstanding what it minted minus what it burned, in minor units
    function mintCeilingOf(uint32 financierId) external view returns (uint256 ceiling, uint256 outstanding);
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
