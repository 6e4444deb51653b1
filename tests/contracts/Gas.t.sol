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

    // ------------------------------------------------------------------ the other workflow steps (cold, logged)

    /// @dev Makes every ledger contract's storage cold again, as at the start of a real transaction.
    function _coolAll() internal {
        vm.cool(address(registry));
        vm.cool(address(cash));
        vm.cool(address(notes));
        vm.cool(address(orders));
        vm.cool(address(financing));
        vm.cool(address(settlement));
    }

    function _measure(string memory op, uint256 gasBefore) internal view returns (uint256 used) {
        used = gasBefore - gasleft();
        console.log(op, used);
    }

    function test_gas_admitMember() public {
        address account = makeAddr("newcomer");
        _coolAll();
        vm.prank(operator);
        uint256 g = gasleft();
        registry.admit(account, Roles.SUPPLIER, keccak256("kyc"), 9, 0);
        assertGt(_measure("admit member", g), 0);
    }

    function test_gas_orderLifecycle() public {
        _coolAll();
        vm.prank(supplier);
        uint256 g = gasleft();
        uint256 orderId = orders.propose(core, FACE, address(cash), keccak256("po-gas"), uint64(block.timestamp + 60 days));
        _measure("propose order", g);
        _coolAll();
        vm.prank(core);
        g = gasleft();
        orders.confirm(orderId);
        _measure("confirm order", g);
        _coolAll();
        vm.prank(supplier);
        g = gasleft();
        orders.deliver(orderId);
        _measure("deliver order", g);
        _coolAll();
        vm.prank(core);
        g = gasleft();
        orders.accept(orderId, FACE, uint64(block.timestamp + TENOR), keccak256("inv-gas"));
        assertGt(_measure("accept order (issues the receivable)", g), 0);
    }

    function test_gas_issue() public {
        _coolAll();
        vm.prank(core);
        uint256 g = gasleft();
        notes.issue(supplier2, FACE, address(cash), uint64(block.timestamp + TENOR), keccak256("inv-gas-2"));
        assertGt(_measure("issue receivable", g), 0);
    }

    function test_gas_factoringAccept() public {
        vm.prank(bank);
        uint256 offerId = financing.makeOffer(noteId, 20_000_00, 800, false, uint64(block.timestamp + 1 days));
        _coolAll();
        vm.prank(supplier);
        uint256 g = gasleft();
        financing.acceptOffer(offerId);
        assertGt(_measure("factoring accept (partial: split + cash)", g), 0);
    }

    function test_gas_orderLoan() public {
        uint256 orderId = _confirmedOrder(FACE);
        vm.prank(supplier);
        orders.pledge(orderId, bank);
        _coolAll();
        vm.prank(bank);
        uint256 g = gasleft();
        financing.lend(orderId, 50_000_00, 600, uint64(block.timestamp + 30 days));
        assertGt(_measure("order loan (lend)", g), 0);
    }
}
