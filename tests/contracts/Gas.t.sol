// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {console} from "forge-std/console.sol";
import {ERC3525} from "@solvprotocol/erc-3525/ERC3525.sol";
import {Base} from "./Base.t.sol";
import {Roles} from "../../contracts/libraries/Roles.sol";

/// @notice The Solv ERC-3525 baseline implementation with its internal mint exposed (gas baseline only).
contract ReferenceNotes is ERC3525 {
    constructor() ERC3525("Reference", "REF", 2) {}

    function mint(address to, uint256 slot, uint256 value) external returns (uint256) {
        return _mint(to, slot, value);
    }
}

/// @notice Side-by-side gas of the ledger's notes and the Solv baseline, each operation measured on cold
///         storage in its own test (setUp state is committed, so every test starts cold). Targets from the
///         ledger-contracts issue: split <= half the baseline's plain split; merge and whole transfer below the
///         baseline's; settlement < 40k gas per note.
contract GasComparisonTest is Base {
    ReferenceNotes internal ref;
    uint256 internal slotId;
    uint256 internal noteId;
    uint256 internal sibling;
    uint256 internal refId;
    uint256 internal refSibling;

    function setUp() public override {
        super.setUp();
        ref = new ReferenceNotes();
        (slotId, noteId) = _issue();
        sibling = _split(supplier, noteId, supplier, 10_000_00);
        refId = ref.mint(supplier, 1, FACE);
        vm.prank(supplier);
        refSibling = ref.transferFrom(refId, supplier, 10_000_00);
    }

    function _report(string memory op, uint256 ours, uint256 baseline) internal pure {
        console.log(op);
        console.log("  ledger gas   ", ours);
        console.log("  baseline gas", baseline);
    }

    function test_gas_split_atMostHalfOfReference() public {
        vm.prank(supplier);
        uint256 g = gasleft();
        notes.transferFrom(noteId, bank, 5_000_00);
        uint256 ours = g - gasleft();
        vm.prank(supplier);
        g = gasleft();
        ref.transferFrom(refId, bank, 5_000_00);
        uint256 baseline = g - gasleft();
        _report("split transferFrom(id, to, value)", ours, baseline);
        assertLe(ours * 2, baseline, "split must cost at most half of the baseline");
    }

    function test_gas_merge_belowReference() public {
        vm.prank(supplier);
        uint256 g = gasleft();
        notes.transferFrom(sibling, noteId, 5_000_00);
        uint256 ours = g - gasleft();
        vm.prank(supplier);
        g = gasleft();
        ref.transferFrom(refSibling, refId, 5_000_00);
        uint256 baseline = g - gasleft();
        _report("merge transferFrom(id, id, value)", ours, baseline);
        assertLt(ours, baseline, "merge must cost less than the baseline");
    }

    function test_gas_wholeTransfer_belowReference() public {
        vm.prank(supplier);
        uint256 g = gasleft();
        notes.transferFrom(supplier, bank, noteId);
        uint256 ours = g - gasleft();
        vm.prank(supplier);
        g = gasleft();
        ref.transferFrom(supplier, bank, refId);
        uint256 baseline = g - gasleft();
        _report("whole transferFrom(from, to, id)", ours, baseline);
        assertLt(ours, baseline, "whole transfer must cost less than the baseline");
    }
}
