// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {Base} from "./Base.t.sol";
import {IReceivableNotes} from "../../contracts/interfaces/IReceivableNotes.sol";
import {IMemberHoldings} from "../../contracts/interfaces/IMemberHoldings.sol";
import {OrderBook} from "../../contracts/orders/OrderBook.sol";

/// @notice A rotated-out account (lost or stolen key) keeps no approvals other members granted it.
contract RotationApprovalsTest is Base {
    address internal newBank = makeAddr("bank-new-key");

    function _rotateBank() internal {
        vm.prank(operator);
        registry.rotateAccount(bankId, newBank);
    }

    function test_noteApprovalsToRotatedOutAccount_areVoid() public {
        (, uint256 noteId) = _issue();
        vm.startPrank(supplier);
        notes.approve(noteId, bank, 10_000_00); // value allowance
        notes.setApprovalForAll(bank, true); // operator approval
        vm.stopPrank();
        _rotateBank();
        vm.expectRevert(abi.encodeWithSelector(IMemberHoldings.NotApproved.selector, noteId, bank));
        vm.prank(bank);
        notes.transferFrom(noteId, supplier2, 1_000_00);
        vm.expectRevert(abi.encodeWithSelector(IMemberHoldings.NotApproved.selector, noteId, bank));
        vm.prank(bank);
        notes.transferFrom(supplier, supplier2, noteId);
        assertEq(notes.ownerOf(noteId), supplier);
        assertEq(notes.balanceOf(noteId), FACE);
    }

    function test_orderApprovalToRotatedOutAccount_isVoid() public {
        uint256 orderId = _confirmedOrder(FACE);
        vm.prank(supplier);
        orders.approve(bank, orderId);
        _rotateBank();
        vm.expectRevert(abi.encodeWithSelector(IMemberHoldings.NotApproved.selector, orderId, bank));
        vm.prank(bank);
        orders.transferFrom(supplier, supplier2, orderId);
        assertEq(orders.ownerOf(orderId), supplier);
    }

    function test_cashAllowanceToRotatedOutAccount_isVoid() public {
        vm.prank(core);
        cash.approve(bank, 1_000_00);
        _rotateBank();
        vm.expectRevert(abi.encodeWithSelector(IERC20Errors.ERC20InsufficientAllowance.selector, bank, 0, 1_000_00));
        vm.prank(bank);
        cash.transferFrom(core, supplier, 1_000_00);
    }

    function test_approvalsStillWorkForActiveOperators() public {
        (, uint256 noteId) = _issue();
        vm.prank(supplier);
        notes.approve(noteId, bank, 10_000_00);
        vm.prank(bank);
        uint256 newId = notes.transferFrom(noteId, supplier2, 1_000_00);
        assertEq(notes.ownerOf(newId), supplier2);
        assertEq(notes.allowance(noteId, bank), 9_000_00);
    }
}
