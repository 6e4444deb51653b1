// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

/// @title Member role bits shared by every ledger contract.
library Roles {
    uint8 internal constant CORE_ENTERPRISE = 1;
    uint8 internal constant SUPPLIER = 2;
    uint8 internal constant FINANCIER = 4;
    uint8 internal constant AUDITOR = 8;
    uint8 internal constant ALL = 15;
    /// @dev Roles that may hold orders, notes and cash.
    uint8 internal constant HOLDER = CORE_ENTERPRISE | SUPPLIER | FINANCIER;
}
