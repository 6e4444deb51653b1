// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {Base} from "./Base.t.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {IMemberRegistry} from "../../contracts/interfaces/IMemberRegistry.sol";
import {ICashToken} from "../../contracts/interfaces/ICashToken.sol";
import {CashToken} from "../../contracts/cash/CashToken.sol";
import {LedgerAccess} from "../../contracts/libraries/LedgerAccess.sol";
import {Roles} from "../../contracts/libraries/Roles.sol";

/// @notice Unit tests of the permissioned cash token.
contract CashTokenTest is Base {
    address internal ledger = makeAddr("ledger"); // a trusted ledger contract stand-in
    bytes32 internal constant REF = keccak256("deposit-ref");
    uint256 internal constant AMT = 1_234_56;

    function setUp() public override {
        super.setUp();
        vm.prank(operator);
        registry.setLedgerContract(ledger, true);
    }

    function _suspend(uint32 id) internal {
        vm.prank(operator);
        registry.suspend(id);
    }

    // ================================================================== metadata / fixture

    function test_decimals_isTwo() public view {
        assertEq(cash.decimals(), 2);
        assertEq(cash.name(), "SCF Cash");
        assertEq(cash.symbol(), "SCFC");
    }

    function test_constructor_revertsForZeroRegistry() public {
        vm.expectRevert(abi.encodeWithSelector(LedgerAccess.ZeroAddress.selector));
        new CashToken(IMemberRegistry(address(0)));
    }

    function test_fixture_balances() public view {
        assertEq(cash.balanceOf(bank), 10_000_000_00);
        assertEq(cash.balanceOf(core), 10_000_000_00);
        assertEq(cash.totalSupply(), 30_000_000_00);
        assertFalse(cash.paused());
    }

    // ================================================================== mint

    function test_mint_creditsRecipientAndEmits() public {
        uint256 supplyBefore = cash.totalSupply();
        vm.expectEmit(address(cash));
        emit IERC20.Transfer(address(0), supplier, AMT);
        vm.expectEmit(address(cash));
        emit ICashToken.Minted(bank, supplier, AMT, REF);
        vm.prank(bank);
        cash.mint(supplier, AMT, REF);
        assertEq(cash.balanceOf(supplier), AMT);
        assertEq(cash.totalSupply(), supplyBefore + AMT);
    }

    function test_mint_toSelf() public {
        vm.prank(bank2);
        cash.mint(bank2, AMT, REF);
        assertEq(cash.balanceOf(bank2), 10_000_000_00 + AMT);
    }

    function test_mint_toLedgerContract() public {
        vm.prank(bank);
        cash.mint(address(settlement), AMT, REF);
        assertEq(cash.balanceOf(address(settlement)), AMT);
    }

    function test_mint_revertsForNonMember() public {
        vm.expectRevert(abi.encodeWithSelector(IMemberRegistry.NotAMember.selector, outsider));
        vm.prank(outsider);
        cash.mint(outsider, AMT, REF);
    }

    function test_mint_revertsForOperator() public {
        vm.expectRevert(abi.encodeWithSelector(IMemberRegistry.NotAMember.selector, operator));
        vm.prank(operator);
        cash.mint(supplier, AMT, REF);
    }

    function test_mint_revertsForSupplier() public {
        vm.expectRevert(
            abi.encodeWithSelector(IMemberRegistry.MissingRole.selector, supplier, Roles.FINANCIER, Roles.SUPPLIER)
        );
        vm.prank(supplier);
        cash.mint(supplier, AMT, REF);
    }

    function test_mint_revertsForCoreEnterprise() public {
        vm.expectRevert(
            abi.encodeWithSelector(
                IMemberRegistry.MissingRole.selector, core, Roles.FINANCIER, Roles.CORE_ENTERPRISE
            )
        );
        vm.prank(core);
        cash.mint(core, AMT, REF);
    }

    function test_mint_revertsForAuditor() public {
        vm.expectRevert(
            abi.encodeWithSelector(IMemberRegistry.MissingRole.selector, auditor, Roles.FINANCIER, Roles.AUDITOR)
        );
        vm.prank(auditor);
        cash.mint(supplier, AMT, REF);
    }

    function test_mint_revertsForSuspendedFinancier() public {
        _suspend(bank2Id);
        vm.expectRevert(
            abi.encodeWithSelector(IMemberRegistry.MemberNotActive.selector, bank2, IMemberRegistry.Status.Suspended)
        );
        vm.prank(bank2);
        cash.mint(supplier, AMT, REF);
    }

    function test_mint_revertsForZeroAmount() public {
        vm.expectRevert(abi.encodeWithSelector(ICashToken.InvalidAmount.selector, uint256(0)));
        vm.prank(bank);
        cash.mint(supplier, 0, REF);
    }

    function test_mint_revertsForNonMemberRecipient() public {
        vm.expectRevert(abi.encodeWithSelector(IMemberRegistry.NotAMember.selector, outsider));
        vm.prank(bank);
        cash.mint(outsider, AMT, REF);
    }

    function test_mint_revertsForSuspendedRecipient() public {
        vm.expectRevert(
            abi.encodeWithSelector(
                IMemberRegistry.MemberNotActive.selector, suspended, IMemberRegistry.Status.Suspended
            )
        );
        vm.prank(bank);
        cash.mint(suspended, AMT, REF);
    }

    function test_mint_revertsForAuditorRecipient() public {
        vm.expectRevert(
            abi.encodeWithSelector(IMemberRegistry.MissingRole.selector, auditor, Roles.HOLDER, Roles.AUDITOR)
        );
        vm.prank(bank);
        cash.mint(auditor, AMT, REF);
    }

    function test_mint_revertsForZeroRecipient() public {
        // address(0) as recipient: OpenZeppelin's guard fires before any membership check
        vm.expectRevert(abi.encodeWithSelector(IERC20Errors.ERC20InvalidReceiver.selector, address(0)));
        vm.prank(bank);
        cash.mint(address(0), AMT, REF);
    }

    // ================================================================== mint ceiling (S-5)

    /// @dev bank2 with a ceiling of `ceiling` and nothing outstanding (the fixture minted 10,000,000.00).
    function _freshCeiling(uint128 ceiling) internal {
        vm.prank(bank2);
        cash.burn(bank2, 10_000_000_00, "fixture-out");
        vm.prank(operator);
        cash.setMintCeiling(bank2Id, ceiling);
    }

    function test_mintCeiling_defaultIsZeroForANewFinancier() public {
        address bank3 = makeAddr("bank3");
        vm.prank(operator);
        uint32 bank3Id = registry.admit(bank3, Roles.FINANCIER, keccak256("kyc-bank3"), 9, 0);
        (uint256 ceiling, uint256 outstanding) = cash.mintCeilingOf(bank3Id);
        assertEq(ceiling, 0);
        assertEq(outstanding, 0);
        vm.expectRevert(abi.encodeWithSelector(ICashToken.MintCeilingExceeded.selector, bank3Id, 0, 0, 1));
        vm.prank(bank3);
        cash.mint(supplier, 1, REF);
    }

    function test_mintCeiling_setEmitsPreviousAndNew() public {
        vm.expectEmit(address(cash));
        emit ICashToken.MintCeilingSet(bank2Id, type(uint128).max, 500_00);
        vm.prank(operator);
        cash.setMintCeiling(bank2Id, 500_00);
        vm.expectEmit(address(cash));
        emit ICashToken.MintCeilingSet(bank2Id, 500_00, 900_00);
        vm.prank(operator);
        cash.setMintCeiling(bank2Id, 900_00);
        (uint256 ceiling,) = cash.mintCeilingOf(bank2Id);
        assertEq(ceiling, 900_00);
    }

    function test_mintCeiling_mintUpToCeilingThenReverts() public {
        _freshCeiling(1_000_00);
        vm.prank(bank2);
        cash.mint(supplier, 600_00, REF);
        vm.prank(bank2);
        cash.mint(core, 400_00, REF); // exactly at the ceiling
        (, uint256 outstanding) = cash.mintCeilingOf(bank2Id);
        assertEq(outstanding, 1_000_00);
        vm.expectRevert(
            abi.encodeWithSelector(ICashToken.MintCeilingExceeded.selector, bank2Id, 1_000_00, 1_000_00, 1)
        );
        vm.prank(bank2);
        cash.mint(supplier, 1, REF);
    }

    function test_mintCeiling_burnFreesRoom() public {
        _freshCeiling(1_000_00);
        vm.prank(bank2);
        cash.mint(bank2, 1_000_00, REF);
        vm.prank(bank2);
        cash.burn(bank2, 300_00, REF);
        (, uint256 outstanding) = cash.mintCeilingOf(bank2Id);
        assertEq(outstanding, 700_00);
        vm.prank(bank2);
        cash.mint(supplier, 300_00, REF);
        vm.expectRevert(
            abi.encodeWithSelector(ICashToken.MintCeilingExceeded.selector, bank2Id, 1_000_00, 1_000_00, 1)
        );
        vm.prank(bank2);
        cash.mint(supplier, 1, REF);
    }

    function test_mintCeiling_loweringBelowOutstandingStopsMints() public {
        _freshCeiling(1_000_00);
        vm.prank(bank2);
        cash.mint(bank2, 800_00, REF);
        vm.prank(operator);
        cash.setMintCeiling(bank2Id, 500_00);
        vm.expectRevert(abi.encodeWithSelector(ICashToken.MintCeilingExceeded.selector, bank2Id, 500_00, 800_00, 1));
        vm.prank(bank2);
        cash.mint(supplier, 1, REF);
        vm.prank(bank2);
        cash.burn(bank2, 400_00, REF); // outstanding 400.00: room for 100.00
        vm.prank(bank2);
        cash.mint(supplier, 100_00, REF);
    }

    function test_mintCeiling_burnOfOthersCashStopsAtZero() public {
        _freshCeiling(1_000_00);
        vm.prank(bank2);
        cash.mint(bank2, 100_00, REF);
        vm.prank(bank);
        cash.transfer(bank2, 500_00); // cash bank minted
        vm.prank(bank2);
        cash.burn(bank2, 600_00, REF);
        (, uint256 outstanding) = cash.mintCeilingOf(bank2Id);
        assertEq(outstanding, 0);
        vm.prank(bank2);
        cash.mint(supplier, 1_000_00, REF); // room is the ceiling, no more
        vm.expectRevert();
        vm.prank(bank2);
        cash.mint(supplier, 1, REF);
    }

    function test_mintCeiling_survivesKeyRotation() public {
        _freshCeiling(1_000_00);
        vm.prank(bank2);
        cash.mint(bank2, 900_00, REF);
        address newKey = makeAddr("bank2-new");
        _rotate(bank2Id, newKey, _ids(), _ids());
        vm.expectRevert(
            abi.encodeWithSelector(ICashToken.MintCeilingExceeded.selector, bank2Id, 1_000_00, 900_00, 200_00)
        );
        vm.prank(newKey);
        cash.mint(supplier, 200_00, REF);
    }

    function test_setMintCeiling_revertsForNonOperator() public {
        vm.expectRevert(abi.encodeWithSelector(LedgerAccess.NotOperator.selector, bank));
        vm.prank(bank);
        cash.setMintCeiling(bankId, 1);
    }

    function test_setMintCeiling_revertsForNonFinancier() public {
        vm.expectRevert(abi.encodeWithSelector(ICashToken.NotAFinancier.selector, supplierId));
        vm.prank(operator);
        cash.setMintCeiling(supplierId, 1);
    }

    function test_setMintCeiling_revertsForUnknownMember() public {
        vm.expectRevert(abi.encodeWithSelector(IMemberRegistry.UnknownMember.selector, uint32(999)));
        vm.prank(operator);
        cash.setMintCeiling(999, 1);
    }

    function test_setMintCeiling_worksWhilePaused() public {
        vm.prank(operator);
        cash.pause();
        vm.prank(operator);
        cash.setMintCeiling(bank2Id, 5);
        (uint256 ceiling,) = cash.mintCeilingOf(bank2Id);
        assertEq(ceiling, 5);
    }

    /// @dev Any sequence of mints and burns: outstanding is minted minus burned (floored at 0) and never above the
    ///      ceiling; a mint succeeds exactly when it fits.
    function testFuzz_mintCeiling_outstandingNeverAboveCeiling(uint128 ceiling, uint64[8] memory amounts, uint8 burns)
        public
    {
        ceiling = uint128(bound(ceiling, 0, 5_000_000_00));
        _freshCeiling(ceiling);
        uint256 expected;
        for (uint256 i; i < amounts.length; ++i) {
            uint256 amount = bound(amounts[i], 1, 2_000_000_00);
            if ((burns >> i) & 1 == 1 && cash.balanceOf(bank2) >= amount) {
                vm.prank(bank2);
                cash.burn(bank2, amount, REF);
                expected = amount >= expected ? 0 : expected - amount;
            } else if (expected + amount <= ceiling) {
                vm.prank(bank2);
                cash.mint(bank2, amount, REF);
                expected += amount;
            } else {
                vm.expectRevert(
                    abi.encodeWithSelector(ICashToken.MintCeilingExceeded.selector, bank2Id, ceiling, expected, amount)
                );
                vm.prank(bank2);
                cash.mint(bank2, amount, REF);
            }
            (, uint256 outstanding) = cash.mintCeilingOf(bank2Id);
            assertEq(outstanding, expected);
            assertLe(outstanding, ceiling);
        }
    }

    // ================================================================== burn

    function test_burn_ownBalanceAndEmits() public {
        uint256 supplyBefore = cash.totalSupply();
        vm.expectEmit(address(cash));
        emit IERC20.Transfer(bank, address(0), AMT);
        vm.expectEmit(address(cash));
        emit ICashToken.Burned(bank, bank, AMT, REF);
        vm.prank(bank);
        cash.burn(bank, AMT, REF);
        assertEq(cash.balanceOf(bank), 10_000_000_00 - AMT);
        assertEq(cash.totalSupply(), supplyBefore - AMT);
    }

    function test_burn_otherMemberRevertsWithoutAllowance() public {
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientAllowance.selector, bank, uint256(0), AMT)
        );
        vm.prank(bank);
        cash.burn(core, AMT, REF);
    }

    function test_burn_otherMemberRevertsWithPartialAllowance() public {
        vm.prank(core);
        cash.approve(bank, AMT - 1);
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientAllowance.selector, bank, AMT - 1, AMT)
        );
        vm.prank(bank);
        cash.burn(core, AMT, REF);
    }

    function test_burn_otherMemberWithAllowance() public {
        vm.prank(core);
        cash.approve(bank, AMT + 5);
        vm.expectEmit(address(cash));
        emit ICashToken.Burned(bank, core, AMT, REF);
        vm.prank(bank);
        cash.burn(core, AMT, REF);
        assertEq(cash.balanceOf(core), 10_000_000_00 - AMT);
        assertEq(cash.allowance(core, bank), 5);
    }

    function test_burn_revertsForNonFinancier() public {
        vm.expectRevert(
            abi.encodeWithSelector(
                IMemberRegistry.MissingRole.selector, core, Roles.FINANCIER, Roles.CORE_ENTERPRISE
            )
        );
        vm.prank(core);
        cash.burn(core, AMT, REF);
    }

    function test_burn_revertsForOutsider() public {
        vm.expectRevert(abi.encodeWithSelector(IMemberRegistry.NotAMember.selector, outsider));
        vm.prank(outsider);
        cash.burn(bank, AMT, REF);
    }

    function test_burn_revertsForSuspendedFinancier() public {
        _suspend(bankId);
        vm.expectRevert(
            abi.encodeWithSelector(IMemberRegistry.MemberNotActive.selector, bank, IMemberRegistry.Status.Suspended)
        );
        vm.prank(bank);
        cash.burn(bank, AMT, REF);
    }

    function test_burn_revertsForZeroAmount() public {
        vm.expectRevert(abi.encodeWithSelector(ICashToken.InvalidAmount.selector, uint256(0)));
        vm.prank(bank);
        cash.burn(bank, 0, REF);
    }

    function test_burn_revertsAboveBalance() public {
        vm.expectRevert(
            abi.encodeWithSelector(
                IERC20Errors.ERC20InsufficientBalance.selector, bank, uint256(10_000_000_00), uint256(10_000_000_01)
            )
        );
        vm.prank(bank);
        cash.burn(bank, 10_000_000_01, REF);
    }

    // ================================================================== transfer

    function test_transfer_betweenMembersAndEmits() public {
        vm.expectEmit(address(cash));
        emit IERC20.Transfer(core, supplier, AMT);
        vm.prank(core);
        assertTrue(cash.transfer(supplier, AMT));
        assertEq(cash.balanceOf(supplier), AMT);
        assertEq(cash.balanceOf(core), 10_000_000_00 - AMT);
        vm.prank(supplier);
        cash.transfer(bank2, AMT);
        assertEq(cash.balanceOf(bank2), 10_000_000_00 + AMT);
        assertEq(cash.balanceOf(supplier), 0);
    }

    function test_transfer_toLedgerContractAllowed() public {
        vm.prank(core);
        cash.transfer(address(settlement), AMT);
        assertEq(cash.balanceOf(address(settlement)), AMT);
    }

    function test_transfer_revertsToOutsider() public {
        vm.expectRevert(abi.encodeWithSelector(IMemberRegistry.NotAMember.selector, outsider));
        vm.prank(core);
        cash.transfer(outsider, AMT);
    }

    function test_transfer_revertsToSuspended() public {
        vm.expectRevert(
            abi.encodeWithSelector(
                IMemberRegistry.MemberNotActive.selector, suspended, IMemberRegistry.Status.Suspended
            )
        );
        vm.prank(core);
        cash.transfer(suspended, AMT);
    }

    function test_transfer_revertsToAuditor() public {
        vm.expectRevert(
            abi.encodeWithSelector(IMemberRegistry.MissingRole.selector, auditor, Roles.HOLDER, Roles.AUDITOR)
        );
        vm.prank(core);
        cash.transfer(auditor, AMT);
    }

    function test_transfer_revertsFromSuspendedSender() public {
        vm.prank(core);
        cash.transfer(supplier, AMT);
        _suspend(supplierId);
        vm.expectRevert(
            abi.encodeWithSelector(IMemberRegistry.MemberNotActive.selector, supplier, IMemberRegistry.Status.Suspended)
        );
        vm.prank(supplier);
        cash.transfer(core, AMT);
    }

    function test_transfer_revertsFromSenderWhoseRoleBecameAuditor() public {
        vm.prank(core);
        cash.transfer(supplier, AMT);
        vm.prank(operator);
        registry.setRoles(supplierId, Roles.AUDITOR);
        vm.expectRevert(
            abi.encodeWithSelector(IMemberRegistry.MissingRole.selector, supplier, Roles.HOLDER, Roles.AUDITOR)
        );
        vm.prank(supplier);
        cash.transfer(core, AMT);
    }

    function test_transfer_revertsAboveBalance() public {
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientBalance.selector, supplier, uint256(0), AMT)
        );
        vm.prank(supplier);
        cash.transfer(core, AMT);
    }

    function test_transferFrom_withAllowanceBetweenMembers() public {
        vm.prank(core);
        cash.approve(supplier, AMT);
        vm.prank(supplier);
        cash.transferFrom(core, bank, AMT);
        assertEq(cash.balanceOf(bank), 10_000_000_00 + AMT);
        assertEq(cash.allowance(core, supplier), 0);
    }

    function test_transferFrom_revertsToOutsiderEvenWithAllowance() public {
        vm.prank(core);
        cash.approve(supplier, AMT);
        vm.expectRevert(abi.encodeWithSelector(IMemberRegistry.NotAMember.selector, outsider));
        vm.prank(supplier);
        cash.transferFrom(core, outsider, AMT);
    }

    // ================================================================== ledgerTransfer / ledgerPayout

    function test_ledgerTransfer_movesForLedgerContract() public {
        vm.expectEmit(address(cash));
        emit IERC20.Transfer(core, supplier, AMT);
        vm.prank(ledger);
        cash.ledgerTransfer(core, supplier, AMT);
        assertEq(cash.balanceOf(supplier), AMT);
    }

    function test_ledgerTransfer_reachesSuspendedMember() public {
        vm.prank(ledger);
        cash.ledgerTransfer(core, suspended, AMT);
        assertEq(cash.balanceOf(suspended), AMT);
    }

    function test_ledgerTransfer_revertsForMember() public {
        vm.expectRevert(abi.encodeWithSelector(LedgerAccess.NotLedgerContract.selector, bank));
        vm.prank(bank);
        cash.ledgerTransfer(core, bank, AMT);
    }

    function test_ledgerTransfer_revertsForOperator() public {
        vm.expectRevert(abi.encodeWithSelector(LedgerAccess.NotLedgerContract.selector, operator));
        vm.prank(operator);
        cash.ledgerTransfer(core, bank, AMT);
    }

    function test_ledgerTransfer_revertsToNonMember() public {
        vm.expectRevert(abi.encodeWithSelector(CashToken.NotMemberOrLedger.selector, outsider));
        vm.prank(ledger);
        cash.ledgerTransfer(core, outsider, AMT);
    }

    function test_ledgerPayout_paysRecipients() public {
        address[] memory to = new address[](2);
        to[0] = supplier;
        to[1] = suspended;
        uint256[] memory amounts = new uint256[](2);
        amounts[0] = 100;
        amounts[1] = 200;
        vm.expectEmit(address(cash));
        emit IERC20.Transfer(core, supplier, 100);
        vm.expectEmit(address(cash));
        emit IERC20.Transfer(core, suspended, 200);
        vm.prank(ledger);
        cash.ledgerPayout(core, to, amounts);
        assertEq(cash.balanceOf(supplier), 100);
        assertEq(cash.balanceOf(suspended), 200);
        assertEq(cash.balanceOf(core), 10_000_000_00 - 300);
    }

    function test_ledgerPayout_revertsForMember() public {
        address[] memory to = new address[](1);
        to[0] = supplier;
        uint256[] memory amounts = new uint256[](1);
        amounts[0] = 100;
        vm.expectRevert(abi.encodeWithSelector(LedgerAccess.NotLedgerContract.selector, core));
        vm.prank(core);
        cash.ledgerPayout(core, to, amounts);
    }

    function test_ledgerPayout_revertsOnLengthMismatch() public {
        address[] memory to = new address[](2);
        to[0] = supplier;
        to[1] = bank2;
        uint256[] memory amounts = new uint256[](1);
        amounts[0] = 100;
        vm.expectRevert(abi.encodeWithSelector(CashToken.LengthMismatch.selector, uint256(2), uint256(1)));
        vm.prank(ledger);
        cash.ledgerPayout(core, to, amounts);
    }

    function test_ledgerPayout_revertsFromNonMember() public {
        address[] memory to = new address[](1);
        to[0] = supplier;
        uint256[] memory amounts = new uint256[](1);
        amounts[0] = 0;
        vm.expectRevert(abi.encodeWithSelector(CashToken.NotMemberOrLedger.selector, outsider));
        vm.prank(ledger);
        cash.ledgerPayout(outsider, to, amounts);
    }

    // ================================================================== rotated accounts

    function test_rotatedAccount_cashStaysFrozenAtOldAccount() public {
        address newSupplier = makeAddr("newSupplier");
        vm.prank(bank);
        cash.mint(supplier, AMT, REF);
        vm.prank(operator);
        registry.rotateAccount(supplierId, newSupplier);
        assertEq(cash.balanceOf(supplier), AMT); // an ERC-20 balance does not follow the member id
        assertEq(cash.balanceOf(newSupplier), 0);
        vm.expectRevert(abi.encodeWithSelector(IMemberRegistry.NotAMember.selector, supplier));
        vm.prank(supplier);
        cash.transfer(newSupplier, AMT);
    }

    function test_recoverRotatedBalance_movesCashToCurrentAccount() public {
        address newSupplier = makeAddr("newSupplier");
        vm.prank(bank);
        cash.mint(supplier, AMT, REF);
        vm.prank(operator);
        registry.rotateAccount(supplierId, newSupplier);
        assertEq(registry.formerMemberIdOf(supplier), supplierId);
        vm.expectEmit(address(cash));
        emit IERC20.Transfer(supplier, newSupplier, AMT);
        vm.expectEmit(address(cash));
        emit CashToken.RotatedBalanceRecovered(supplierId, supplier, newSupplier, AMT);
        vm.prank(operator);
        cash.recoverRotatedBalance(supplier);
        assertEq(cash.balanceOf(supplier), 0);
        assertEq(cash.balanceOf(newSupplier), AMT);
        vm.prank(newSupplier);
        cash.transfer(core, AMT); // usable again by the member
        assertEq(cash.balanceOf(newSupplier), 0);
    }

    function test_recoverRotatedBalance_revertsForNonOperator() public {
        address newSupplier = makeAddr("newSupplier");
        vm.prank(operator);
        registry.rotateAccount(supplierId, newSupplier);
        vm.expectRevert(abi.encodeWithSelector(LedgerAccess.NotOperator.selector, newSupplier));
        vm.prank(newSupplier);
        cash.recoverRotatedBalance(supplier);
    }

    function test_recoverRotatedBalance_revertsForCurrentMemberAccount() public {
        vm.expectRevert(abi.encodeWithSelector(CashToken.NotARotatedAccount.selector, core));
        vm.prank(operator);
        cash.recoverRotatedBalance(core);
    }

    function test_recoverRotatedBalance_revertsForNeverMember() public {
        vm.expectRevert(abi.encodeWithSelector(CashToken.NotARotatedAccount.selector, outsider));
        vm.prank(operator);
        cash.recoverRotatedBalance(outsider);
    }

    function test_recoverRotatedBalance_revertsForReadmittedAccount() public {
        address newSupplier = makeAddr("newSupplier");
        vm.startPrank(operator);
        registry.rotateAccount(supplierId, newSupplier);
        registry.admit(supplier, Roles.SUPPLIER, REF, 0, 0); // the old key is a member again, in its own right
        vm.expectRevert(abi.encodeWithSelector(CashToken.NotARotatedAccount.selector, supplier));
        cash.recoverRotatedBalance(supplier);
        vm.stopPrank();
    }

    function test_recoverRotatedBalance_revertsWhilePaused() public {
        address newSupplier = makeAddr("newSupplier");
        vm.startPrank(operator);
        registry.rotateAccount(supplierId, newSupplier);
        cash.pause();
        vm.expectRevert(abi.encodeWithSelector(LedgerAccess.EnforcedPause.selector));
        cash.recoverRotatedBalance(supplier);
        vm.stopPrank();
    }

    // ================================================================== pause / unpause

    function test_pause_byOperatorEmits() public {
        vm.expectEmit(address(cash));
        emit LedgerAccess.Paused(operator);
        vm.prank(operator);
        cash.pause();
        assertTrue(cash.paused());
    }

    function test_pause_revertsForNonOperator() public {
        vm.expectRevert(abi.encodeWithSelector(LedgerAccess.NotOperator.selector, bank));
        vm.prank(bank);
        cash.pause();
    }

    function test_pause_revertsWhenAlreadyPaused() public {
        vm.startPrank(operator);
        cash.pause();
        vm.expectRevert(abi.encodeWithSelector(LedgerAccess.EnforcedPause.selector));
        cash.pause();
        vm.stopPrank();
    }

    function test_unpause_byOperatorEmits() public {
        vm.prank(operator);
        cash.pause();
        vm.expectEmit(address(cash));
        emit LedgerAccess.Unpaused(operator);
        vm.prank(operator);
        cash.unpause();
        assertFalse(cash.paused());
        vm.prank(core);
        cash.transfer(supplier, AMT); // works again
        assertEq(cash.balanceOf(supplier), AMT);
    }

    function test_unpause_revertsForNonOperator() public {
        vm.prank(operator);
        cash.pause();
        vm.expectRevert(abi.encodeWithSelector(LedgerAccess.NotOperator.selector, core));
        vm.prank(core);
        cash.unpause();
    }

    function test_unpause_revertsWhenNotPaused() public {
        vm.expectRevert(abi.encodeWithSelector(LedgerAccess.ExpectedPause.selector));
        vm.prank(operator);
        cash.unpause();
    }

    function test_unpause_revertsOnDoubleUnpause() public {
        vm.startPrank(operator);
        cash.pause();
        cash.unpause();
        vm.expectRevert(abi.encodeWithSelector(LedgerAccess.ExpectedPause.selector));
        cash.unpause();
        vm.stopPrank();
    }

    function test_transfer_revertsWhilePaused() public {
        vm.prank(operator);
        cash.pause();
        vm.expectRevert(abi.encodeWithSelector(LedgerAccess.EnforcedPause.selector));
        vm.prank(core);
        cash.transfer(supplier, AMT);
    }

    function test_transferFrom_revertsWhilePaused() public {
        vm.prank(core);
        cash.approve(supplier, AMT);
        vm.prank(operator);
        cash.pause();
        vm.expectRevert(abi.encodeWithSelector(LedgerAccess.EnforcedPause.selector));
        vm.prank(supplier);
        cash.transferFrom(core, supplier, AMT);
    }

    function test_mint_revertsWhilePaused() public {
        vm.prank(operator);
        cash.pause();
        vm.expectRevert(abi.encodeWithSelector(LedgerAccess.EnforcedPause.selector));
        vm.prank(bank);
        cash.mint(supplier, AMT, REF);
    }

    function test_burn_revertsWhilePaused() public {
        vm.prank(operator);
        cash.pause();
        vm.expectRevert(abi.encodeWithSelector(LedgerAccess.EnforcedPause.selector));
        vm.prank(bank);
        cash.burn(bank, AMT, REF);
    }

    function test_ledgerTransfer_revertsWhilePaused() public {
        vm.prank(operator);
        cash.pause();
        vm.expectRevert(abi.encodeWithSelector(LedgerAccess.EnforcedPause.selector));
        vm.prank(ledger);
        cash.ledgerTransfer(core, supplier, AMT);
    }

    function test_ledgerPayout_revertsWhilePaused() public {
        vm.prank(operator);
        cash.pause();
        address[] memory to = new address[](1);
        to[0] = supplier;
        uint256[] memory amounts = new uint256[](1);
        amounts[0] = 1;
        vm.expectRevert(abi.encodeWithSelector(LedgerAccess.EnforcedPause.selector));
        vm.prank(ledger);
        cash.ledgerPayout(core, to, amounts);
    }

    /// @dev Regression: approve used to go through while paused (OpenZeppelin ERC20.approve was not overridden),
    ///      although LedgerAccess documents that a pause stops every non-operator state change.
    function test_approve_revertsWhilePaused() public {
        vm.prank(operator);
        cash.pause();
        vm.expectRevert(abi.encodeWithSelector(LedgerAccess.EnforcedPause.selector));
        vm.prank(core);
        cash.approve(supplier, AMT);
    }
}
