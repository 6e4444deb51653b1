// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {ICashToken} from "../interfaces/ICashToken.sol";
import {IMemberRegistry} from "../interfaces/IMemberRegistry.sol";
import {LedgerAccess} from "../libraries/LedgerAccess.sol";
import {Roles} from "../libraries/Roles.sol";

/// @title Permissioned settlement token: a bank deposit token with 2 decimals.
/// @notice Active financiers mint against deposits and burn on withdrawal (with the holder's allowance).
///         Ordinary transfers move only between active members with a holding role. Ledger contracts
///         (Financing, Settlement) move cash as one leg of an atomic workflow and may hold cash in escrow.
contract CashToken is ERC20, LedgerAccess, ICashToken {
    /// @dev Packed with LedgerAccess's pause flag in one slot. London EVM (Clique, Besu): no transient storage, so
    ///      the move mode is a storage flag that is never zero (a write costs 2,900 gas, not 20,000) and is reset
    ///      after each move.
    /// @dev MODE_PLAIN outside ledger moves. MODE_LEDGER while a ledger contract moves cash, so `_update` checks
    ///      membership but not status. MODE_PAYOUT during a settlement payout: recipients are note holders the
    ///      calling ledger contract read from the registry, so no further checks are needed (low gas per note).
    uint8 private _mode = MODE_PLAIN;

    /// @dev Per financier (member id, so a key rotation keeps it): its mint ceiling and its outstanding amount.
    struct MintAllowance {
        uint128 ceiling;
        uint128 outstanding;
    }

    mapping(uint32 financierId => MintAllowance) private _mintAllowance;

    uint8 private constant MODE_PLAIN = 1;
    uint8 private constant MODE_LEDGER = 2;
    uint8 private constant MODE_PAYOUT = 3;

    error NotMemberOrLedger(address account);
    error LengthMismatch(uint256 recipients, uint256 amounts);
    error NotARotatedAccount(address account);

    event RotatedBalanceRecovered(uint32 indexed memberId, address indexed oldAccount, address indexed newAccount, uint256 amount);

    constructor(IMemberRegistry registry_) ERC20("SCF Cash", "SCFC") LedgerAccess(registry_) {}

    /// @inheritdoc ICashToken
    function decimals() public pure override(ERC20, ICashToken) returns (uint8) {
        return 2;
    }

    /// @inheritdoc ICashToken
    function mint(address to, uint256 amount, bytes32 depositRef) external whenNotPaused {
        uint32 financierId = registry.requireActive(msg.sender, Roles.FINANCIER);
        if (amount == 0) revert InvalidAmount(amount);
        MintAllowance memory a = _mintAllowance[financierId];
        uint256 outstanding = uint256(a.outstanding) + amount;
        if (outstanding > a.ceiling) revert MintCeilingExceeded(financierId, a.ceiling, a.outstanding, amount);
        _mintAllowance[financierId].outstanding = uint128(outstanding);
        _mint(to, amount);
        emit Minted(msg.sender, to, amount, depositRef);
    }

    /// @inheritdoc ICashToken
    /// @dev A financier other than `from` needs `from`'s allowance (a withdrawal the member asked for).
    function burn(address from, uint256 amount, bytes32 depositRef) external whenNotPaused {
        uint32 financierId = registry.requireActive(msg.sender, Roles.FINANCIER);
        if (amount == 0) revert InvalidAmount(amount);
        if (from != msg.sender) _spendAllowance(from, msg.sender, amount);
        _burn(from, amount);
        uint128 outstanding = _mintAllowance[financierId].outstanding;
        if (outstanding != 0) {
            _mintAllowance[financierId].outstanding = amount >= outstanding ? 0 : outstanding - uint128(amount);
        }
        emit Burned(msg.sender, from, amount, depositRef);
    }

    /// @inheritdoc ICashToken
    function setMintCeiling(uint32 financierId, uint128 ceiling) external onlyOperator {
        if (registry.member(financierId).roles & Roles.FINANCIER == 0) revert NotAFinancier(financierId);
        MintAllowance storage a = _mintAllowance[financierId];
        uint256 previous = a.ceiling;
        a.ceiling = ceiling;
        emit MintCeilingSet(financierId, previous, ceiling);
    }

    /// @inheritdoc ICashToken
    function mintCeilingOf(uint32 financierId) external view returns (uint256 ceiling, uint256 outstanding) {
        MintAllowance memory a = _mintAllowance[financierId];
        return (a.ceiling, a.outstanding);
    }

    /// @inheritdoc ICashToken
    function ledgerTransfer(address from, address to, uint256 amount) external onlyLedger whenNotPaused {
        _mode = MODE_LEDGER;
        _transfer(from, to, amount);
        _mode = MODE_PLAIN;
    }

    /// @inheritdoc ICashToken
    function ledgerPayout(address from, address[] calldata to, uint256[] calldata amounts)
        external
        onlyLedger
        whenNotPaused
    {
        if (to.length != amounts.length) revert LengthMismatch(to.length, amounts.length);
        _checkLedgerParty(from);
        _mode = MODE_PAYOUT;
        for (uint256 i; i < to.length; ++i) {
            _transfer(from, to[i], amounts[i]);
        }
        _mode = MODE_PLAIN;
    }

    /// @notice Operators move the cash left at a member's rotated-out account (lost key) to its current account.
    /// @param oldAccount the rotated-out account
    function recoverRotatedBalance(address oldAccount) external onlyOperator whenNotPaused {
        uint32 memberId = registry.formerMemberIdOf(oldAccount);
        if (memberId == 0 || registry.memberIdOf(oldAccount) != 0) revert NotARotatedAccount(oldAccount);
        address current = registry.accountOf(memberId);
        uint256 amount = balanceOf(oldAccount);
        _mode = MODE_PAYOUT; // a bookkeeping move within one member: no membership checks
        _transfer(oldAccount, current, amount);
        _mode = MODE_PLAIN;
        emit RotatedBalanceRecovered(memberId, oldAccount, current, amount);
    }

    /// @dev A member's rotated-out account (a lost or stolen key) cannot spend allowances others granted it.
    function _spendAllowance(address owner, address spender, uint256 value) internal override {
        if (registry.formerMemberIdOf(spender) != 0) revert ERC20InsufficientAllowance(spender, 0, value);
        super._spendAllowance(owner, spender, value);
    }

    /// @notice ERC-20 approve, refused while paused.
    /// @param spender the account allowed
    /// @param value the amount it may spend, in minor units
    /// @return true
    function approve(address spender, uint256 value) public override(ERC20, IERC20) whenNotPaused returns (bool) {
        return super.approve(spender, value);
    }

    /// @dev Every balance change flows through here (OpenZeppelin's hook): membership is enforced once.
    function _update(address from, address to, uint256 value) internal override {
        uint8 mode = _mode;
        if (mode == MODE_PAYOUT) {
            // checked once by ledgerPayout
        } else if (mode == MODE_LEDGER) {
            _checkLedgerParty(from);
            _checkLedgerParty(to);
        } else {
            if (paused()) revert EnforcedPause();
            if (from != address(0)) _checkHolder(from);
            if (to != address(0)) _checkHolder(to);
        }
        super._update(from, to, value);
    }

    function _checkHolder(address account) private view {
        if (registry.isLedgerContract(account)) return;
        registry.requireActive(account, Roles.HOLDER);
    }

    /// @dev Ledger moves reach any registered member whatever its status (money owed is still paid to a
    ///      suspended member); the calling contract checks the payer's authority.
    function _checkLedgerParty(address account) private view {
        if (registry.memberIdOf(account) != 0 || registry.isLedgerContract(account)) return;
        revert NotMemberOrLedger(account);
    }
}
