// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IMemberRegistry} from "../interfaces/IMemberRegistry.sol";

/// @title Shared access control and pause switch of the ledger contracts.
/// @notice Every permission check goes through the member registry (one source of truth): operators pause,
///         trusted ledger contracts call the hooks.
/// @dev The pause flag lives here, in the first storage word of every ledger contract, so a subcontract whose
///      first state variables are small hot-path values packs them in the same word (CashToken's move mode,
///      Financing's counters, Settlement's grace period). ReceivableNotes overrides `paused`/`_setPaused` to keep
///      the flag in its policy word, which every note move reads anyway.
///      The modifiers call internal functions, so each check is compiled once per contract, not once per use.
abstract contract LedgerAccess {
    /// @notice The member registry every check goes through.
    IMemberRegistry public immutable registry;

    bool private _paused;

    error NotOperator(address account);
    error NotLedgerContract(address account);
    error EnforcedPause();
    error ExpectedPause();
    error ZeroAddress();

    event Paused(address account);
    event Unpaused(address account);

    constructor(IMemberRegistry registry_) {
        if (address(registry_) == address(0)) revert ZeroAddress();
        registry = registry_;
    }

    modifier onlyOperator() {
        _checkOperator();
        _;
    }

    modifier onlyLedger() {
        _checkLedger();
        _;
    }

    modifier whenNotPaused() {
        _requireNotPaused();
        _;
    }

    /// @notice Stops every state change of this contract except operator actions (operators only).
    function pause() external onlyOperator {
        if (paused()) revert EnforcedPause();
        _setPaused(true);
        emit Paused(msg.sender);
    }

    /// @notice Resumes a paused contract (operators only).
    function unpause() external onlyOperator {
        if (!paused()) revert ExpectedPause();
        _setPaused(false);
        emit Unpaused(msg.sender);
    }

    /// @notice Whether the contract is paused.
    /// @return true while paused
    function paused() public view virtual returns (bool) {
        return _paused;
    }

    function _setPaused(bool value) internal virtual {
        _paused = value;
    }

    function _checkOperator() internal view {
        if (!registry.isOperator(msg.sender)) revert NotOperator(msg.sender);
    }

    function _checkLedger() internal view {
        if (!registry.isLedgerContract(msg.sender)) revert NotLedgerContract(msg.sender);
    }

    function _requireNotPaused() internal view {
        if (paused()) revert EnforcedPause();
    }
}
