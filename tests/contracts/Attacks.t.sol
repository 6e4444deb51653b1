// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {console} from "forge-std/console.sol";
import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {Base} from "./Base.t.sol";
import {ISettlement} from "../../contracts/interfaces/ISettlement.sol";
import {IFinancing} from "../../contracts/interfaces/IFinancing.sol";
import {Financing} from "../../contracts/financing/Financing.sol";
import {Settlement} from "../../contracts/settlement/Settlement.sol";
import {OrderBook} from "../../contracts/orders/OrderBook.sol";
import {ICashToken} from "../../contracts/interfaces/ICashToken.sol";
import {Roles} from "../../contracts/libraries/Roles.sol";
import {IOrderBook} from "../../contracts/interfaces/IOrderBook.sol";
import {IReceivableNotes} from "../../contracts/interfaces/IReceivableNotes.sol";
import {IMemberHoldings} from "../../contracts/interfaces/IMemberHoldings.sol";
import {IERC3525} from "../../contracts/interfaces/IERC3525.sol";
import {IERC721} from "@openzeppelin/contracts/token/ERC721/IERC721.sol";

/// @notice A member contract that runs attacker-chosen calls from inside its ERC-3525 / ERC-721 receiver hooks
///         and records how each re-entry ended. With `revertOnHook` it proves that a path runs no hook at all.
contract HookAttacker {
    address[] internal _targets;
    bytes[] internal _payloads;
    bool[] public succeeded;
    bytes[] internal _returns;
    bool public revertOnHook;
    uint256 public hookCalls;

    error HookMustNotRun();

    /// @dev Arms one re-entry for the next hook (single shot, so a re-entry that triggers a hook cannot loop).
    function arm(address target, bytes calldata payload) external {
        _targets.push(target);
        _payloads.push(payload);
    }

    function setRevertOnHook(bool value) external {
        revertOnHook = value;
    }

    function attempts() external view returns (uint256) {
        return succeeded.length;
    }

    function returned(uint256 i) external view returns (bytes memory) {
        return _returns[i];
    }

    function supportsInterface(bytes4 id) external pure returns (bool) {
        return id == 0x009ce20b || id == 0x01ffc9a7; // ERC-3525 receiver, ERC-165
    }

    function onERC3525Received(address, uint256, uint256, uint256, bytes calldata) external returns (bytes4) {
        _hook();
        return this.onERC3525Received.selector;
    }

    function onERC721Received(address, address, uint256, bytes calldata) external returns (bytes4) {
        _hook();
        return this.onERC721Received.selector;
    }

    function _hook() internal {
        if (revertOnHook) revert HookMustNotRun();
        hookCalls += 1;
        address[] memory targets = _targets;
        bytes[] memory payloads = _payloads;
        delete _targets;
        delete _payloads;
        for (uint256 i; i < targets.length; ++i) {
            (bool ok, bytes memory ret) = targets[i].call(payloads[i]);
            succeeded.push(ok);
            _returns.push(ret);
        }
    }
}

/// @notice Contract-level attacks on the ledger: re-entrancy through token hooks, approval abuse, the missing
///         signature surface, arithmetic edges and griefing by tiny splits. Every test asserts exact errors or
///         exact amounts, so a regression makes it fail.
contract AttacksTest is Base {
    uint256 internal constant MIN = 100; // default minimum split value (1.00)
    uint256 internal constant CAP = 500; // default maximum live notes per slot
    uint256 internal constant BPS_DAYS = 365 * 10_000;

    HookAttacker internal atk;
    uint32 internal atkId;

    function setUp() public override {
        super.setUp();
        atk = new HookAttacker();
        // A contract can be a member: admission is the operator's decision, the registry does not look at code.
        vm.prank(operator);
        atkId = registry.admit(address(atk), Roles.SUPPLIER | Roles.FINANCIER, keccak256("kyc-atk"), 20, 0);
    }

    // ------------------------------------------------------------------ helpers

    function _sig3525Split() internal pure returns (string memory) {
        return "transferFrom(uint256,address,uint256)";
    }

    function _maturity(uint256 slotId) internal view returns (uint64) {
        return notes.receivable(slotId).maturity;
    }

    function _fund(uint256 slotId, uint256 amount) internal {
        vm.prank(core);
        settlement.fund(slotId, amount);
    }

    function _offer(address financier, uint256 noteId, uint96 value, uint32 rateBps, bool recourse)
        internal
        returns (uint256 offerId)
    {
        vm.prank(financier);
        offerId = financing.makeOffer(noteId, value, rateBps, recourse, uint64(block.timestamp + 30 days));
    }

    function _assertReentry(uint256 i, bytes memory expectedRevert) internal view {
        assertFalse(atk.succeeded(i), "re-entry must fail");
        assertEq(atk.returned(i), expectedRevert, "re-entry revert reason");
    }

    // ================================================================== membership of contracts

    function test_contractMember_admittedAndHoldsNotes() public {
        assertEq(registry.memberIdOf(address(atk)), atkId);
        assertTrue(registry.isActive(address(atk), Roles.HOLDER));
        (, uint256 noteId) = _issue(address(atk), FACE, keccak256("inv-atk"));
        assertEq(notes.ownerOf(noteId), address(atk));
        assertEq(atk.hookCalls(), 0, "issuance runs no hook");
    }

    // ================================================================== re-entrancy through ERC-3525 hooks

    /// @dev The value allowance is spent before the receiver hook runs: a re-entrant second spend sees what is left.
    function test_reentrancy_splitHook_allowanceSpentBeforeHook() public {
        (, uint256 noteId) = _issue();
        vm.prank(supplier);
        notes.approve(noteId, address(atk), 2_000_00);
        atk.arm(address(notes), abi.encodeWithSignature(_sig3525Split(), noteId, address(atk), 1_500_00));

        vm.prank(address(atk));
        uint256 got = notes.transferFrom(noteId, address(atk), 1_000_00);

        assertEq(atk.attempts(), 1);
        _assertReentry(
            0,
            abi.encodeWithSelector(
                IReceivableNotes.InsufficientAllowance.selector, noteId, address(atk), 1_000_00, 1_500_00
            )
        );
        assertEq(notes.balanceOf(got), 1_000_00);
        assertEq(notes.balanceOf(noteId), FACE - 1_000_00);
        assertEq(notes.allowance(noteId, address(atk)), 1_000_00);
        assertEq(notes.balanceOf(address(atk)), 1, "exactly one note gained");
    }

    function test_reentrancy_splitHook_exhaustedAllowanceCannotRespend() public {
        (, uint256 noteId) = _issue();
        vm.prank(supplier);
        notes.approve(noteId, address(atk), 1_000_00);
        atk.arm(address(notes), abi.encodeWithSignature(_sig3525Split(), noteId, address(atk), 1_000_00));

        vm.prank(address(atk));
        notes.transferFrom(noteId, address(atk), 1_000_00);

        _assertReentry(0, abi.encodeWithSelector(IMemberHoldings.NotApproved.selector, noteId, address(atk)));
        assertEq(notes.balanceOf(noteId), FACE - 1_000_00);
        assertEq(notes.allowance(noteId, address(atk)), 0);
    }

    /// @dev A recipient without any approval cannot pull more value from the note it is being paid from.
    function test_reentrancy_splitHook_recipientCannotPullFromPayer() public {
        (, uint256 noteId) = _issue();
        atk.arm(address(notes), abi.encodeWithSignature(_sig3525Split(), noteId, address(atk), 5_000_00));
        _split(supplier, noteId, address(atk), 1_000_00);
        _assertReentry(0, abi.encodeWithSelector(IMemberHoldings.NotApproved.selector, noteId, address(atk)));
        assertEq(notes.balanceOf(noteId), FACE - 1_000_00);
    }

    /// @dev Selling value that was just split away fails: the hook runs after the note's value was reduced.
    function test_reentrancy_splitHook_cannotSellSplitAwayValue() public {
        (, uint256 noteId) = _issue(address(atk), FACE, keccak256("inv-atk"));
        uint256 offerId = _offer(bank, noteId, uint96(FACE), 500, false);
        uint256 bankCash = cash.balanceOf(bank);
        atk.arm(address(financing), abi.encodeCall(Financing.acceptOffer, (offerId)));

        vm.prank(address(atk));
        notes.transferFrom(noteId, address(atk), 40_000_00); // split to itself: its own hook runs

        _assertReentry(
            0, abi.encodeWithSelector(IReceivableNotes.InsufficientValue.selector, noteId, FACE - 40_000_00, FACE)
        );
        assertEq(cash.balanceOf(bank), bankCash, "the bank paid nothing");
        assertEq(cash.balanceOf(address(atk)), 0);
        assertEq(uint8(financing.offer(offerId).status), uint8(IFinancing.OfferStatus.Open));
    }

    /// @dev Holder moves end at maturity and payouts start there: no hook can reach settlement for its slot.
    function test_reentrancy_splitHook_cannotReachSettlementPaths() public {
        (uint256 slotId, uint256 noteId) = _issue(address(atk), FACE, keccak256("inv-atk"));
        _fund(slotId, FACE);
        uint64 maturity = _maturity(slotId);
        atk.arm(address(settlement), abi.encodeCall(Settlement.redeem, (noteId)));
        atk.arm(address(settlement), abi.encodeCall(Settlement.settle, (slotId, _ids(noteId))));
        atk.arm(address(settlement), abi.encodeCall(Settlement.claimDefaulted, (slotId, _ids(noteId))));

        vm.prank(address(atk));
        notes.transferFrom(noteId, address(atk), 1_000_00);

        assertEq(atk.attempts(), 3);
        _assertReentry(0, abi.encodeWithSelector(ISettlement.NotMatured.selector, slotId, maturity));
        _assertReentry(1, abi.encodeWithSelector(ISettlement.NotMatured.selector, slotId, maturity));
        _assertReentry(
            2, abi.encodeWithSelector(ISettlement.SlotNotDefaulted.selector, slotId, IReceivableNotes.SlotStatus.Active)
        );
        assertEq(cash.balanceOf(address(atk)), 0);
        assertEq(cash.balanceOf(address(settlement)), FACE);
    }

    /// @dev Merge into the attacker's note: the hook cannot pull value back out of the payer's note.
    function test_reentrancy_mergeHook_cannotPullMore() public {
        (, uint256 noteId) = _issue();
        uint256 atkNote = _split(supplier, noteId, address(atk), 1_000_00);
        atk.arm(address(notes), abi.encodeWithSignature("transferFrom(uint256,uint256,uint256)", noteId, atkNote, 1));

        vm.prank(supplier);
        notes.transferFrom(noteId, atkNote, 500_00);

        assertEq(atk.hookCalls(), 2);
        _assertReentry(0, abi.encodeWithSelector(IMemberHoldings.NotApproved.selector, noteId, address(atk)));
        assertEq(notes.balanceOf(atkNote), 1_500_00);
        assertEq(notes.balanceOf(noteId), FACE - 1_500_00);
    }

    // ================================================================== re-entrancy through ERC-721 hooks

    function test_reentrancy_noteSafeTransferHook_seesNewHolder() public {
        (, uint256 noteId) = _issue();
        atk.arm(
            address(notes), abi.encodeWithSignature("transferFrom(address,address,uint256)", supplier, bank2, noteId)
        );

        vm.prank(supplier);
        notes.safeTransferFrom(supplier, address(atk), noteId);

        _assertReentry(0, abi.encodeWithSelector(IReceivableNotes.NotNoteHolder.selector, noteId, supplier));
        assertEq(notes.ownerOf(noteId), address(atk));
        assertEq(notes.balanceOf(supplier), 0);
    }

    function test_reentrancy_orderSafeTransferHook_seesNewHolder() public {
        uint256 orderId = _confirmedOrder(FACE);
        atk.arm(
            address(orders),
            abi.encodeWithSignature("transferFrom(address,address,uint256)", supplier, supplier2, orderId)
        );

        vm.prank(supplier);
        orders.safeTransferFrom(supplier, address(atk), orderId);

        _assertReentry(0, abi.encodeWithSelector(IOrderBook.NotOrderHolder.selector, orderId, supplier));
        assertEq(orders.holderOf(orderId), atkId);
        assertEq(orders.balanceOf(address(atk)), 1);
        assertEq(orders.balanceOf(supplier), 0);
    }

    // ================================================================== paths without any hook

    /// @dev CashToken is a plain OpenZeppelin ERC-20: no receiver hook (no ERC-777/1363 callbacks), `_update` only
    ///      reads the registry. The attacker reverts on any hook, so a callback would make these calls fail.
    function test_noHook_cashTransfersAndLedgerMoves() public {
        atk.setRevertOnHook(true);
        vm.prank(bank);
        cash.transfer(address(atk), 1_000_000_00);
        assertEq(cash.balanceOf(address(atk)), 1_000_000_00);

        // the attacker buys as a financier: the bought note arrives by ledgerSplit, without a hook
        (uint256 slotId, uint256 noteId) = _issue();
        uint256 offerId = _offer(address(atk), noteId, 30_000_00, 1_000, false);
        vm.prank(supplier);
        uint256 purchaseId = financing.acceptOffer(offerId);
        uint256 bought = financing.purchase(purchaseId).noteId;
        assertEq(notes.ownerOf(bought), address(atk));

        // settlement pays in cash (ERC-20): neither settle nor redeem calls the holder
        _fund(slotId, FACE);
        vm.warp(_maturity(slotId));
        uint256 before = cash.balanceOf(address(atk));
        settlement.settle(slotId, _ids(noteId));
        vm.prank(address(atk));
        settlement.redeem(bought);
        assertEq(cash.balanceOf(address(atk)) - before, 30_000_00);
        assertEq(uint8(notes.receivable(slotId).status), uint8(IReceivableNotes.SlotStatus.Settled));
        assertEq(atk.hookCalls(), 0);
    }

    function test_noHook_claimDefaulted() public {
        atk.setRevertOnHook(true);
        (uint256 slotId, uint256 noteId) = _issue(address(atk), FACE, keccak256("inv-atk"));
        _fund(slotId, FACE / 4);
        vm.warp(_maturity(slotId) + settlement.gracePeriod());
        settlement.markDefault(slotId);
        settlement.claimDefaulted(slotId, _ids(noteId));
        assertEq(cash.balanceOf(address(atk)), FACE / 4);
        assertEq(atk.hookCalls(), 0);
    }

    // ================================================================== value and token approvals

    /// @dev An operator with a value allowance never moves more than the allowance, over any two spends.
    function testFuzz_valueAllowance_neverExceeded(uint256 allowed, uint256 first, uint256 second) public {
        allowed = bound(allowed, PER, FACE / 2);
        first = bound(first, PER, allowed);
        second = bound(second, PER, FACE / 2 - PER);
        (, uint256 noteId) = _issue();
        vm.prank(supplier);
        notes.approve(noteId, bank2, allowed);

        vm.prank(bank2);
        notes.transferFrom(noteId, bank2, first);
        uint256 left = allowed - first;
        if (second > left) {
            if (left == 0) {
                vm.expectRevert(abi.encodeWithSelector(IMemberHoldings.NotApproved.selector, noteId, bank2));
            } else {
                vm.expectRevert(
                    abi.encodeWithSelector(IReceivableNotes.InsufficientAllowance.selector, noteId, bank2, left, second)
                );
            }
            vm.prank(bank2);
            notes.transferFrom(noteId, bank2, second);
            assertEq(notes.balanceOf(noteId), FACE - first);
        } else {
            vm.prank(bank2);
            notes.transferFrom(noteId, bank2, second);
            assertEq(notes.balanceOf(noteId), FACE - first - second);
            assertLe(first + second, allowed);
        }
        assertGe(notes.balanceOf(noteId), FACE - allowed, "never more than the allowance left the note");
    }

    function test_valueAllowance_mergeCannotExceed() public {
        (, uint256 noteId) = _issue();
        uint256 bankNote = _split(supplier, noteId, bank2, 1_000_00);
        vm.prank(supplier);
        notes.approve(noteId, bank2, 1_000_00);
        vm.expectRevert(
            abi.encodeWithSelector(IReceivableNotes.InsufficientAllowance.selector, noteId, bank2, 1_000_00, 1_000_01)
        );
        vm.prank(bank2);
        notes.transferFrom(noteId, bankNote, 1_000_01);
    }

    /// @dev Approvals do not survive a whole transfer, and coming back does not revive them.
    function test_approvals_voidedByWholeTransferAndNotRevived() public {
        (, uint256 noteId) = _issue();
        vm.startPrank(supplier);
        notes.approve(noteId, bank2, 5_000_00); // value allowance
        notes.approve(outsider, noteId); // token approval
        notes.transferFrom(supplier, supplier2, noteId);
        vm.stopPrank();
        vm.prank(supplier2);
        notes.transferFrom(supplier2, supplier, noteId);

        assertEq(notes.allowance(noteId, bank2), 0);
        assertEq(notes.getApproved(noteId), address(0));
        vm.expectRevert(abi.encodeWithSelector(IMemberHoldings.NotApproved.selector, noteId, bank2));
        vm.prank(bank2);
        notes.transferFrom(noteId, bank2, 1_000_00);
        vm.expectRevert(abi.encodeWithSelector(IMemberHoldings.NotApproved.selector, noteId, outsider));
        vm.prank(outsider);
        notes.transferFrom(supplier, bank2, noteId);
    }

    /// @dev An operator for all of a member's notes loses the note once it belongs to another member.
    function test_approvals_operatorForAllDoesNotFollowTheNote() public {
        (, uint256 noteId) = _issue();
        vm.prank(supplier);
        notes.setApprovalForAll(bank2, true);
        vm.prank(supplier);
        notes.transferFrom(supplier, supplier2, noteId);
        vm.expectRevert(abi.encodeWithSelector(IMemberHoldings.NotApproved.selector, noteId, bank2));
        vm.prank(bank2);
        notes.transferFrom(supplier2, bank2, noteId);
        vm.expectRevert(abi.encodeWithSelector(IMemberHoldings.NotApproved.selector, noteId, bank2));
        vm.prank(bank2);
        notes.transferFrom(noteId, bank2, 1_000_00);
    }

    /// @dev A split leaves the allowance on the parent note; the new note starts without any.
    function test_approvals_splitNoteInheritsNothing() public {
        (, uint256 noteId) = _issue();
        vm.prank(supplier);
        notes.approve(noteId, bank2, 5_000_00);
        uint256 child = _split(supplier, noteId, supplier, 10_000_00);
        assertEq(notes.allowance(child, bank2), 0);
        assertEq(notes.allowance(noteId, bank2), 5_000_00);
        vm.expectRevert(abi.encodeWithSelector(IMemberHoldings.NotApproved.selector, child, bank2));
        vm.prank(bank2);
        notes.transferFrom(child, bank2, 1_000_00);
    }

    function test_approvals_orderApprovalClearedOnTransfer() public {
        uint256 orderId = _confirmedOrder(FACE);
        vm.prank(supplier);
        orders.approve(bank2, orderId);
        vm.prank(supplier);
        orders.transferFrom(supplier, supplier2, orderId);
        assertEq(orders.getApproved(orderId), address(0));
        vm.expectRevert(abi.encodeWithSelector(IMemberHoldings.NotApproved.selector, orderId, bank2));
        vm.prank(bank2);
        orders.transferFrom(supplier2, bank2, orderId);
    }

    /// @dev Known ERC-20 / ERC-3525 approve race (documented, not fixed: it is the standard's semantics). Lowering an
    ///      allowance from 1,000 to 500 lets a front-running spender take 1,000 and then 500. Mitigation: set it to 0
    ///      first and check what was spent. This test pins the exact behaviour.
    function test_approveRace_valueAllowance_documented() public {
        (, uint256 noteId) = _issue();
        vm.prank(supplier);
        notes.approve(noteId, bank2, 1_000_00);
        vm.prank(bank2); // front-runs the change
        notes.transferFrom(noteId, bank2, 1_000_00);
        vm.prank(supplier);
        notes.approve(noteId, bank2, 500_00);
        vm.prank(bank2);
        notes.transferFrom(noteId, bank2, 500_00);
        assertEq(notes.balanceOf(noteId), FACE - 1_500_00);
    }

    function test_approveRace_cash_documented() public {
        vm.prank(bank);
        cash.approve(bank2, 1_000_00);
        vm.prank(bank2);
        cash.transferFrom(bank, bank2, 1_000_00);
        vm.prank(bank);
        cash.approve(bank2, 500_00);
        vm.prank(bank2);
        cash.transferFrom(bank, bank2, 500_00);
        assertEq(cash.balanceOf(bank2), 10_000_000_00 + 1_500_00);
        vm.expectRevert(abi.encodeWithSelector(IERC20Errors.ERC20InsufficientAllowance.selector, bank2, 0, 1));
        vm.prank(bank2);
        cash.transferFrom(bank, bank2, 1);
    }

    function testFuzz_cashAllowance_neverExceeded(uint256 allowed, uint256 spend) public {
        allowed = bound(allowed, 1, 1_000_000_00);
        spend = bound(spend, 1, 2_000_000_00);
        vm.prank(bank);
        cash.approve(bank2, allowed);
        if (spend > allowed) {
            vm.expectRevert(
                abi.encodeWithSelector(IERC20Errors.ERC20InsufficientAllowance.selector, bank2, allowed, spend)
            );
        }
        vm.prank(bank2);
        cash.transferFrom(bank, supplier, spend);
        assertEq(cash.balanceOf(supplier), spend > allowed ? 0 : spend);
        assertEq(cash.allowance(bank, bank2), spend > allowed ? allowed : allowed - spend);
    }

    // ================================================================== signatures

    /// @dev No contract verifies signatures: no permit, no EIP-712 domain, no nonces, no ecrecover in contracts/.
    ///      Authority comes only from msg.sender checked against the registry, so there is nothing to replay
    ///      besides whole transactions (chain id + nonce). This fails if a signature entry point is added.
    function test_noSignatureSurface() public {
        address[6] memory all = [
            address(registry), address(cash), address(notes), address(orders), address(financing), address(settlement)
        ];
        bytes[4] memory probes = [
            abi.encodeWithSignature("DOMAIN_SEPARATOR()"),
            abi.encodeWithSignature("nonces(address)", supplier),
            abi.encodeWithSignature(
                "permit(address,address,uint256,uint256,uint8,bytes32,bytes32)",
                supplier,
                bank,
                1,
                block.timestamp + 1,
                uint8(27),
                bytes32(0),
                bytes32(0)
            ),
            abi.encodeWithSignature("eip712Domain()")
        ];
        for (uint256 i; i < all.length; ++i) {
            for (uint256 j; j < probes.length; ++j) {
                (bool ok, bytes memory ret) = all[i].call(probes[j]);
                assertFalse(ok, "signature entry point found");
                assertEq(ret.length, 0, "no such function (no fallback)");
            }
        }
    }

    // ================================================================== arithmetic edges

    function test_arith_maxUint96Face_fullLifecycleConserves() public {
        uint128 maxFace = type(uint96).max;
        vm.prank(operator);
        registry.setCreditLimit(coreId, type(uint128).max);
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.InvalidFaceValue.selector, uint256(maxFace) + 1));
        _issue(supplier, maxFace + 1, keccak256("too-big"));

        (uint256 slotId, uint256 noteId) = _issue(supplier, maxFace, keccak256("max"));
        uint256 half = _split(supplier, noteId, supplier2, maxFace / 2);
        vm.prank(supplier2);
        notes.transferFrom(half, noteId, 1); // value move back into the big note: no overflow
        assertEq(notes.balanceOf(noteId) + notes.balanceOf(half), maxFace);

        vm.prank(bank);
        cash.mint(core, maxFace, "max-deposit");
        _fund(slotId, maxFace);
        vm.warp(_maturity(slotId));
        uint256 s0 = cash.balanceOf(supplier);
        uint256 s20 = cash.balanceOf(supplier2);
        settlement.settle(slotId, _ids(noteId, half));
        assertEq(cash.balanceOf(supplier) - s0 + cash.balanceOf(supplier2) - s20, maxFace);
        assertEq(uint8(notes.receivable(slotId).status), uint8(IReceivableNotes.SlotStatus.Settled));
        assertEq(registry.member(coreId).outstanding, 0);
        assertEq(cash.balanceOf(address(settlement)), 0);
    }

    function test_arith_zeroValuesRefused() public {
        (uint256 slotId, uint256 noteId) = _issue();
        uint256 other = _split(supplier, noteId, supplier2, 1_000_00);
        vm.startPrank(supplier);
        vm.expectRevert(IReceivableNotes.ZeroValue.selector);
        notes.transferFrom(noteId, supplier2, 0);
        vm.expectRevert(IReceivableNotes.ZeroValue.selector);
        notes.transferFrom(noteId, other, 0);
        vm.stopPrank();
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.InvalidFaceValue.selector, 0));
        _issue(supplier, 0, keccak256("zero"));
        vm.expectRevert(abi.encodeWithSelector(ISettlement.InvalidAmount.selector, 0));
        _fund(slotId, 0);
        vm.expectRevert(abi.encodeWithSelector(IFinancing.InvalidValue.selector, 0));
        _offer(bank, noteId, 0, 100, false);
        vm.expectRevert(abi.encodeWithSelector(ICashToken.InvalidAmount.selector, 0));
        vm.prank(bank);
        cash.mint(supplier, 0, "zero");
        // a zero value allowance grants nothing
        vm.prank(supplier);
        notes.approve(noteId, bank2, 0);
        vm.expectRevert(abi.encodeWithSelector(IMemberHoldings.NotApproved.selector, noteId, bank2));
        vm.prank(bank2);
        notes.transferFrom(noteId, bank2, MIN);
    }

    /// @dev Factoring price: the discount is rounded down, so the seller gets the exact price rounded up (by less
    ///      than one minor unit); the cash and note value of a sale are conserved.
    function testFuzz_arith_factoringPriceRoundingAndConservation(uint256 value, uint32 rateBps, uint256 wait) public {
        value = bound(value, PER, FACE);
        rateBps = uint32(bound(rateBps, 0, 10_000));
        if (FACE - value < PER) value = FACE; // a remainder below the minimum split value is refused anyway
        wait = bound(wait, 0, TENOR - 1);
        (uint256 slotId, uint256 noteId) = _issue();
        vm.warp(block.timestamp + wait);
        uint256 offerId = _offer(bank, noteId, uint96(value), rateBps, false);
        uint256 daysLeft = (_maturity(slotId) - block.timestamp + 1 days - 1) / 1 days;
        uint256 exactDiscountTimesBps = value * rateBps * daysLeft; // exact discount * BPS_DAYS
        (uint256 price, uint256 bought) = _acceptConservingCash(offerId);

        assertLe(price, value);
        // price * BPS_DAYS >= exact price * BPS_DAYS, and less than one unit above it
        assertGe(price * BPS_DAYS + exactDiscountTimesBps, value * BPS_DAYS);
        assertLt(price * BPS_DAYS + exactDiscountTimesBps, value * BPS_DAYS + BPS_DAYS);
        assertEq(notes.balanceOf(bought), value);
        assertEq(bought == noteId ? value : notes.balanceOf(noteId) + value, FACE, "note value conserved");
    }

    /// @dev The supplier accepts; returns the price it received and the note the bank got.
    function _acceptConservingCash(uint256 offerId) internal returns (uint256 price, uint256 bought) {
        uint256 quoted = financing.quote(offerId);
        uint256 sup0 = cash.balanceOf(supplier);
        uint256 bank0 = cash.balanceOf(bank);
        vm.prank(supplier);
        uint256 purchaseId = financing.acceptOffer(offerId);
        price = cash.balanceOf(supplier) - sup0;
        assertEq(price, quoted, "paid what was quoted");
        assertEq(bank0 - cash.balanceOf(bank), price, "cash conserved");
        bought = financing.purchase(purchaseId).noteId;
    }

    /// @dev Loan interest is rounded up, by less than one minor unit.
    function testFuzz_arith_interestRoundsUpByLessThanOne(uint96 principal, uint32 rateBps, uint256 elapsed)
        public
        view
    {
        rateBps = uint32(bound(rateBps, 0, 10_000));
        elapsed = bound(elapsed, 0, 5 * 365 days);
        uint256 interest = financing.interestOf(principal, rateBps, elapsed);
        uint256 daysElapsed = elapsed == 0 ? 1 : (elapsed + 1 days - 1) / 1 days;
        uint256 exactTimesBps = uint256(principal) * rateBps * daysElapsed;
        assertGe(interest * BPS_DAYS, exactTimesBps);
        assertLt(interest * BPS_DAYS, exactTimesBps + BPS_DAYS);
    }

    /// forge-config: default.fuzz.runs = 256
    /// @dev Pro-rata default claims over many notes claimed one by one: each payout is the exact share rounded
    ///      down or up (cumulative rounding), the total is exactly the funds, nothing stays in Settlement.
    function testFuzz_arith_defaultClaimsPerNoteWithinOneUnit(uint256 seed, uint256 funded, uint8 count) public {
        uint256 n = bound(count, 2, 8); // halving the first note: 7 splits stay above face / cap (S-3)
        funded = bound(funded, 1, FACE - 1);
        (uint256 slotId, uint256 first) = _issue();
        uint256[] memory ids = new uint256[](n);
        ids[0] = first;
        address[3] memory to = [supplier2, bank, bank2];
        for (uint256 i = 1; i < n; ++i) {
            uint256 remaining = notes.balanceOf(first);
            uint256 v = bound(uint256(keccak256(abi.encode(seed, i))), PER, remaining / 2);
            ids[i] = _split(supplier, first, to[i % 3], v);
        }
        _fund(slotId, funded);
        vm.warp(_maturity(slotId) + settlement.gracePeriod());
        settlement.markDefault(slotId);

        uint256 total;
        for (uint256 k; k < n; ++k) {
            // claim in a seed-dependent order
            uint256 idx = (uint256(keccak256(abi.encode(seed, "order"))) + k * 7) % n;
            while (ids[idx] == 0) idx = (idx + 1) % n;
            total += _claimOneWithinOneUnit(slotId, ids[idx], funded);
            ids[idx] = 0;
        }
        assertEq(total, funded, "exactly the funds are paid");
        assertEq(cash.balanceOf(address(settlement)), 0);
        assertEq(notes.receivable(slotId).liveNotes, 0);
    }

    function _claimOneWithinOneUnit(uint256 slotId, uint256 noteId, uint256 funded) internal returns (uint256 got) {
        uint256 v = notes.balanceOf(noteId);
        address holder = notes.ownerOf(noteId);
        uint256 before = cash.balanceOf(holder);
        settlement.claimDefaulted(slotId, _ids(noteId));
        got = cash.balanceOf(holder) - before;
        uint256 floorShare = v * funded / FACE;
        assertGe(got, floorShare, "at least the exact share rounded down");
        assertLe(got, floorShare + 1, "at most one unit above it");
    }

    // ================================================================== griefing by tiny splits (S-3)

    /// @dev The smallest note of a FACE receivable under the default policy: face / cap (200.00), above MIN.
    uint256 internal constant PER = FACE / CAP;

    /// @dev Fills the slot with CAP notes of exactly face / cap each: the most it can hold by construction.
    function _fillSlot(uint256 noteId, address to) internal returns (uint256[] memory ids) {
        ids = new uint256[](CAP);
        ids[0] = noteId;
        for (uint256 i = 1; i < CAP; ++i) {
            ids[i] = _split(notes.ownerOf(noteId), noteId, to, PER);
        }
    }

    /// @dev Small receivables: the policy's absolute minimum (1.00) applies, since face / cap is below it.
    function test_griefing_minimumSplitValue() public {
        (, uint256 noteId) = _issue(supplier, 40_000, keccak256("small")); // 400.00: face / cap = 0.80
        vm.startPrank(supplier);
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.ValueBelowMinimum.selector, MIN - 1, MIN));
        notes.transferFrom(noteId, supplier2, MIN - 1);
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.ValueBelowMinimum.selector, 50, MIN));
        notes.transferFrom(noteId, supplier2, 40_000 - 50); // the remainder would be dust
        notes.transferFrom(noteId, supplier2, MIN);
        vm.stopPrank();
    }

    /// @dev S-3: no note of a slot may be split to or keep less than face / cap.
    function test_griefing_minimumIsFaceOverCap() public {
        (, uint256 noteId) = _issue();
        vm.startPrank(supplier);
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.ValueBelowMinimum.selector, PER - 1, PER));
        notes.transferFrom(noteId, supplier2, PER - 1);
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.ValueBelowMinimum.selector, PER - 1, PER));
        notes.transferFrom(noteId, supplier2, FACE - PER + 1); // the remainder would be below face / cap
        uint256 other = notes.transferFrom(noteId, supplier, 2 * PER);
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.ValueBelowMinimum.selector, PER - 1, PER));
        notes.transferFrom(other, noteId, PER + 1); // a value move may not leave dust either
        vm.stopPrank();
        // ceil(face / cap): with a face that the cap does not divide, cap notes of the minimum still fit
        (, uint256 odd) = _issue(supplier, uint128(FACE + 1), keccak256("odd"));
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.ValueBelowMinimum.selector, PER, PER + 1));
        _split(supplier, odd, supplier2, PER);
    }

    /// @dev By construction the live notes never exceed the cap: a full slot's notes are all at the minimum, so
    ///      none can be split again; the cap check itself is never reached.
    function test_griefing_fullSlotHasOnlyMinimumNotes() public {
        (uint256 slotId, uint256 noteId) = _issue();
        _fillSlot(noteId, supplier2);
        assertEq(notes.receivable(slotId).liveNotes, CAP);
        assertEq(notes.balanceOf(noteId), PER);
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.ValueBelowMinimum.selector, 1, PER));
        _split(supplier, noteId, supplier2, 1);
        // merging value away frees a place: the emptied note is burned
        vm.prank(supplier2);
        notes.transferFrom(noteId + 1, noteId + 2, PER);
        assertEq(notes.receivable(slotId).liveNotes, CAP - 1);
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.UnknownNote.selector, noteId + 1));
        notes.ownerOf(noteId + 1);
        uint256 again = _split(supplier2, noteId + 2, supplier, PER);
        assertEq(notes.receivable(slotId).liveNotes, CAP);
        assertEq(notes.balanceOf(again), PER);
    }

    /// @dev S-3 griefing: a holder that bought 90% of a receivable splits it into as many notes as it can. It
    ///      cannot use up the cap: the live notes stay below it, and the other holder still splits its part and
    ///      sells part of it. Before S-3 the griefer needed only (cap - 1) * 1.00 to block every partial move.
    function test_griefing_oneHolderCannotUseUpTheCap() public {
        (uint256 slotId, uint256 noteId) = _issue();
        uint256 griefer = _split(supplier, noteId, supplier2, FACE * 9 / 10);
        uint256 made = 1;
        while (notes.balanceOf(griefer) >= 2 * PER) {
            _split(supplier2, griefer, supplier2, PER);
            ++made;
        }
        assertEq(made, 450); // 90% of the face in notes of face / cap
        assertEq(notes.balanceOf(griefer), PER);
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.ValueBelowMinimum.selector, 1, PER));
        _split(supplier2, griefer, supplier2, 1); // nothing left to split off
        assertEq(notes.receivable(slotId).liveNotes, 451);
        assertLt(notes.receivable(slotId).liveNotes, CAP);

        // the other holder splits and sells part of its 10,000.00
        uint256 kept = _split(supplier, noteId, supplier, 2_000_00);
        assertEq(notes.ownerOf(kept), supplier);
        uint256 partialOffer = _offer(bank, noteId, 3_000_00, 500, false);
        vm.prank(supplier);
        uint256 purchaseId = financing.acceptOffer(partialOffer);
        uint256 bought = financing.purchase(purchaseId).noteId;
        assertEq(notes.ownerOf(bought), bank);
        assertEq(notes.balanceOf(bought), 3_000_00);
        assertEq(notes.balanceOf(noteId), 5_000_00);
        assertEq(notes.receivable(slotId).liveNotes, 453);
    }

    /// @dev A split of a note's whole value empties it: the note is burned, with the events a burn emits.
    function test_split_wholeValueBurnsTheEmptiedNote() public {
        (uint256 slotId, uint256 noteId) = _issue();
        vm.expectEmit(address(notes));
        emit IERC721.Transfer(supplier, address(0), noteId);
        vm.expectEmit(address(notes));
        emit IERC3525.SlotChanged(noteId, slotId, 0);
        uint256 moved = _split(supplier, noteId, supplier2, FACE);
        assertEq(notes.balanceOf(moved), FACE);
        assertEq(notes.receivable(slotId).liveNotes, 1);
        assertEq(notes.balanceOf(supplier), 0);
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.UnknownNote.selector, noteId));
        notes.balanceOf(noteId);
    }

    /// @dev A value move that empties the note burns it: Transfer to 0 and SlotChanged(id, slot, 0) after the
    ///      TransferValue, the holder's balance and the live count drop.
    function test_valueMove_emptyingBurnsTheNote() public {
        (uint256 slotId, uint256 noteId) = _issue();
        uint256 other = _split(supplier, noteId, supplier2, 10_000_00);
        vm.expectEmit(address(notes));
        emit IERC3525.TransferValue(noteId, other, FACE - 10_000_00);
        vm.expectEmit(address(notes));
        emit IERC721.Transfer(supplier, address(0), noteId);
        vm.expectEmit(address(notes));
        emit IERC3525.SlotChanged(noteId, slotId, 0);
        vm.prank(supplier);
        notes.transferFrom(noteId, other, FACE - 10_000_00);
        assertEq(notes.balanceOf(other), FACE);
        assertEq(notes.balanceOf(supplier), 0);
        assertEq(notes.receivable(slotId).liveNotes, 1);
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.UnknownNote.selector, noteId));
        notes.ownerOf(noteId);
    }

    /// @dev Settling the capped number of notes in one batch stays well inside a block: under 20k gas per note,
    ///      10M for the batch (about 5.5M measured), a third of a 30M block.
    function test_griefing_settleCappedSlotInOneBatch() public {
        (uint256 slotId, uint256 noteId) = _issue();
        uint256[] memory ids = _fillSlot(noteId, supplier2);
        _fund(slotId, FACE);
        vm.warp(_maturity(slotId));
        uint256 sup0 = cash.balanceOf(supplier);
        uint256 sup20 = cash.balanceOf(supplier2);
        uint256 g = gasleft();
        settlement.settle(slotId, ids);
        uint256 used = g - gasleft();
        console.log("settle 500 notes, gas", used);
        assertLt(used, CAP * 20_000, "under 20k gas per note");
        assertEq(cash.balanceOf(supplier) - sup0, PER);
        assertEq(cash.balanceOf(supplier2) - sup20, (CAP - 1) * PER);
        assertEq(uint8(notes.receivable(slotId).status), uint8(IReceivableNotes.SlotStatus.Settled));
    }

    function test_griefing_claimDefaultedCappedSlotInOneBatch() public {
        (uint256 slotId, uint256 noteId) = _issue();
        uint256[] memory ids = _fillSlot(noteId, supplier2);
        _fund(slotId, FACE / 3);
        vm.warp(_maturity(slotId) + settlement.gracePeriod());
        settlement.markDefault(slotId);
        uint256 g = gasleft();
        settlement.claimDefaulted(slotId, ids);
        uint256 used = g - gasleft();
        console.log("claimDefaulted 500 notes, gas", used);
        assertLt(used, CAP * 20_000, "under 20k gas per note");
        assertEq(cash.balanceOf(address(settlement)), 0);
        assertEq(settlement.funding(slotId).paid, FACE / 3);
    }

    // ================================================================== recourse (findings S-1 and S-2)

    /// @dev Regression for finding S-1 (fixed in Financing): a financier used to claim recourse for the note's whole
    ///      current value. Merging value it bought elsewhere (here without recourse) into the recourse note before
    ///      maturity inflated the claim on the seller, who could only pay the inflated amount. The claim is now
    ///      capped at the value bought, and paying it returns exactly that value to the seller.
    function test_recourse_claimCappedAtPurchasedValue() public {
        (uint256 slotId, uint256 noteId) = _issue();
        uint256 recourseOffer = _offer(bank, noteId, 10_000_00, 500, true);
        vm.prank(supplier);
        uint256 purchaseId = financing.acceptOffer(recourseOffer);
        uint256 bought = financing.purchase(purchaseId).noteId;
        uint256 other = _split(supplier, noteId, supplier2, 50_000_00);
        uint256 plainOffer = _offer(bank, other, 50_000_00, 500, false);
        vm.prank(supplier2);
        financing.acceptOffer(plainOffer); // whole note, no recourse
        vm.prank(bank);
        notes.transferFrom(other, bought, 50_000_00); // merge: the recourse note now holds 60,000.00
        assertEq(notes.balanceOf(bought), 60_000_00);

        _fund(slotId, FACE / 2);
        vm.warp(_maturity(slotId) + settlement.gracePeriod());
        settlement.markDefault(slotId);
        vm.prank(bank);
        uint256 amount = financing.claimRecourse(purchaseId);
        assertEq(amount, 10_000_00, "claim capped at the value bought");
        assertEq(financing.purchase(purchaseId).recourseAmount, 10_000_00);

        vm.prank(bank2);
        cash.mint(supplier, 10_000_00, "seller-deposit"); // the sale price alone is below the claim
        uint256 sup0 = cash.balanceOf(supplier);
        uint256 bank0 = cash.balanceOf(bank);
        uint256 nextNote = notes.noteCount() + 1;
        vm.prank(supplier);
        financing.payRecourse(purchaseId);
        assertEq(sup0 - cash.balanceOf(supplier), 10_000_00);
        assertEq(cash.balanceOf(bank) - bank0, 10_000_00);
        assertEq(notes.ownerOf(nextNote), supplier, "the claimed value came back as a split");
        assertEq(notes.balanceOf(nextNote), 10_000_00);
        assertEq(notes.ownerOf(bought), bank, "the financier keeps what it did not buy from this seller");
        assertEq(notes.balanceOf(bought), 50_000_00);
    }

    /// @dev Whole-note recourse still returns the whole note (the common case is unchanged by the S-1 fix).
    function test_recourse_wholeNoteReturnedWhenNotInflated() public {
        (uint256 slotId, uint256 noteId) = _issue();
        uint256 offerId = _offer(bank, noteId, uint96(FACE), 500, true);
        vm.prank(supplier);
        uint256 purchaseId = financing.acceptOffer(offerId);
        _fund(slotId, FACE / 2);
        vm.warp(_maturity(slotId) + settlement.gracePeriod());
        settlement.markDefault(slotId);
        vm.prank(bank);
        assertEq(financing.claimRecourse(purchaseId), FACE);
        vm.prank(bank2);
        cash.mint(supplier, FACE, "seller-deposit");
        uint256 count = notes.noteCount();
        vm.prank(supplier);
        financing.payRecourse(purchaseId);
        assertEq(notes.ownerOf(noteId), supplier);
        assertEq(notes.balanceOf(noteId), FACE);
        assertEq(notes.noteCount(), count, "no split");
    }

    /// @dev Finding S-2 (documented in docs/security.md, not fixed): claimDefaulted may be called by anyone for any
    ///      note, so after a default the seller of a recourse purchase can burn the financier's bought note first.
    ///      The financier is paid its pro-rata share, and the on-chain recourse claim then fails (UnknownNote). No
    ///      value is created or paid twice; the recourse right moves off chain. This test pins that behaviour.
    /// @notice S-2 (fixed): a third party (here the seller, who would owe recourse) can no longer burn the
    ///         financier's recourse note with a default claim; the recourse claim survives, and the holder may
    ///         still claim its pro-rata share itself. Before the fix the seller's claim succeeded and
    ///         `claimRecourse` reverted `UnknownNote`.
    function test_recourse_notPreemptedByThirdPartyDefaultClaim() public {
        (uint256 slotId, uint256 noteId) = _issue();
        uint256 offerId = _offer(bank, noteId, 40_000_00, 500, true);
        vm.prank(supplier);
        uint256 purchaseId = financing.acceptOffer(offerId);
        uint256 bought = financing.purchase(purchaseId).noteId;
        assertEq(financing.recoursePurchaseOf(bought), purchaseId);
        _fund(slotId, FACE / 2);
        vm.warp(_maturity(slotId) + settlement.gracePeriod());
        settlement.markDefault(slotId);

        vm.expectRevert(abi.encodeWithSelector(ISettlement.NoteUnderRecourse.selector, bought, purchaseId));
        vm.prank(supplier); // the seller, who would owe recourse
        settlement.claimDefaulted(slotId, _ids(bought));
        vm.expectRevert(abi.encodeWithSelector(ISettlement.NoteUnderRecourse.selector, bought, purchaseId));
        vm.prank(outsider); // a keeper
        settlement.claimDefaulted(slotId, _ids(noteId, bought));
        settlement.claimDefaulted(slotId, _ids(noteId)); // the seller's own remaining note: anyone may claim it

        vm.prank(bank);
        assertEq(financing.claimRecourse(purchaseId), 40_000_00, "the recourse right survived");
        uint256 bank0 = cash.balanceOf(bank);
        vm.prank(bank); // the holder may still claim its pro-rata share itself
        settlement.claimDefaulted(slotId, _ids(bought));
        assertEq(cash.balanceOf(bank) - bank0, 20_000_00);
    }
}
