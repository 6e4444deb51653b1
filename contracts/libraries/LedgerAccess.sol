// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IMemberRegistry} from "../interfaces/IMemberRegistry.sol";

/// @title Shared access control and pause switch of the ledger contracts.
/// @notice Every permission check goes through the member registry (one source of truth): operators pause,
///         trusted ledger contracts call the hooks. Subcontracts decide where the pause flag is stored so it
///         can share a storage word with hot-path data.
abstract contract LedgerAccess {
    /// @notice The member registry every check goes through.
    IMemberRegistry public immutable registry;

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
        if (!registry.isOperator(msg.sender)) revert NotOperator(msg.sender);
        _;
    }

    modifier onlyLedger() {
        if (!registry.isLedgerContract(msg.sender)) revert NotLedgerContract(msg.sender);
        _;
    }

    modifier whenNotPaused() {
        if (paused()) revert EnforcedPause();
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
    function paused() public view virtual returns (bool);

    function _setPaused(bool value) internal virtual;
}
