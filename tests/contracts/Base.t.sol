// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {Test} from "forge-std/Test.sol";
import {MemberRegistry} from "../../contracts/access/MemberRegistry.sol";
import {CashToken} from "../../contracts/cash/CashToken.sol";
import {ReceivableNotes} from "../../contracts/receivables/ReceivableNotes.sol";
import {OrderBook} from "../../contracts/orders/OrderBook.sol";
import {Financing} from "../../contracts/financing/Financing.sol";
import {Settlement} from "../../contracts/settlement/Settlement.sol";
import {IMemberRegistry} from "../../contracts/interfaces/IMemberRegistry.sol";
import {IReceivableNotes} from "../../contracts/interfaces/IReceivableNotes.sol";
import {IOrderBook} from "../../contracts/interfaces/IOrderBook.sol";
import {ICashToken} from "../../contracts/interfaces/ICashToken.sol";
import {Roles} from "../../contracts/libraries/Roles.sol";

/// @notice Deploys the whole suite the way chain/devnet/deploy.py does and admits one member per role.
abstract contract Base is Test {
    MemberRegistry internal registry;
    CashToken internal cash;
    ReceivableNotes internal notes;
    OrderBook internal orders;
    Financing internal financing;
    Settlement internal settlement;

    address internal operator = makeAddr("operator");
    address internal core = makeAddr("core"); // core enterprise (obligor / buyer)
    address internal core2 = makeAddr("core2");
    address internal supplier = makeAddr("supplier");
    address internal supplier2 = makeAddr("supplier2");
    address internal bank = makeAddr("bank"); // financier
    address internal bank2 = makeAddr("bank2");
    address internal auditor = makeAddr("auditor");
    address internal outsider = makeAddr("outsider");
    address internal suspended = makeAddr("suspended"); // a supplier that gets suspended

    uint32 internal coreId;
    uint32 internal core2Id;
    uint32 internal supplierId;
    uint32 internal supplier2Id;
    uint32 internal bankId;
    uint32 internal bank2Id;
    uint32 internal auditorId;
    uint32 internal suspendedId;

    uint128 internal constant CREDIT = 1_000_000_00; // 1,000,000.00
    uint128 internal constant FACE = 100_000_00; // 100,000.00
    uint64 internal constant TENOR = 90 days;
    string internal constant METADATA_BASE = "https://scf.example/v1/metadata/";

    function setUp() public virtual {
        vm.warp(1_760_000_000);
        vm.startPrank(operator);
        registry = new MemberRegistry(operator);
        cash = new CashToken(registry);
        notes = new ReceivableNotes(registry, METADATA_BASE);
        orders = new OrderBook(registry, notes);
        financing = new Financing(registry, notes, orders, cash);
        settlement = new Settlement(registry, notes, cash, financing);
        registry.setLedgerContract(address(cash), true);
        registry.setLedgerContract(address(notes), true);
        registry.setLedgerContract(address(orders), true);
        registry.setLedgerContract(address(financing), true);
        registry.setLedgerContract(address(settlement), true);

        coreId = registry.admit(core, Roles.CORE_ENTERPRISE, keccak256("kyc-core"), 1, CREDIT);
        core2Id = registry.admit(core2, Roles.CORE_ENTERPRISE, keccak256("kyc-core2"), 2, CREDIT);
        supplierId = registry.admit(supplier, Roles.SUPPLIER, keccak256("kyc-supplier"), 3, 0);
        supplier2Id = registry.admit(supplier2, Roles.SUPPLIER, keccak256("kyc-supplier2"), 4, 0);
        bankId = registry.admit(bank, Roles.FINANCIER, keccak256("kyc-bank"), 5, 0);
        bank2Id = registry.admit(bank2, Roles.FINANCIER, keccak256("kyc-bank2"), 6, 0);
        auditorId = registry.admit(auditor, Roles.AUDITOR, keccak256("kyc-auditor"), 7, 0);
        suspendedId = registry.admit(suspended, Roles.SUPPLIER, keccak256("kyc-suspended"), 8, 0);
        registry.suspend(suspendedId);
        // S-5: a financier mints only up to the ceiling an operator set (0 until set); the fixtures' banks get
        // a ceiling no test reaches (CashToken.t.sol tests the ceiling itself).
        cash.setMintCeiling(bankId, type(uint128).max);
        cash.setMintCeiling(bank2Id, type(uint128).max);
        vm.stopPrank();

        // Banks hold cash; the core enterprise holds cash to pay its receivables.
        vm.prank(bank);
        cash.mint(bank, 10_000_000_00, "deposit-bank");
        vm.prank(bank2);
        cash.mint(bank2, 10_000_000_00, "deposit-bank2");
        vm.prank(bank);
        cash.mint(core, 10_000_000_00, "deposit-core");
    }

    // ------------------------------------------------------------------ helpers

    /// @dev `core` issues a receivable of `face` to `creditor`, maturing in TENOR.
    function _issue(address creditor, uint128 face, bytes32 invoice) internal returns (uint256 slotId, uint256 noteId) {
        vm.prank(core);
        (slotId, noteId) = notes.issue(creditor, face, address(cash), uint64(block.timestamp + TENOR), invoice);
    }

    function _issue() internal returns (uint256 slotId, uint256 noteId) {
        return _issue(supplier, FACE, keccak256("invoice-1"));
    }

    /// @dev supplier proposes an order to core, core confirms.
    function _confirmedOrder(uint128 amount) internal returns (uint256 orderId) {
        vm.prank(supplier);
        orderId = orders.propose(core, amount, address(cash), keccak256("po-1"), uint64(block.timestamp + 60 days));
        vm.prank(core);
        orders.confirm(orderId);
    }

    function _split(address from, uint256 noteId, address to, uint256 value) internal returns (uint256) {
        vm.prank(from);
        return notes.transferFrom(noteId, to, value);
    }

    /// @dev A full key rotation as the API runs it: rotate, emit the notes' and orders' Transfer events, finish.
    function _rotate(uint32 memberId, address newAccount, uint256[] memory noteIds, uint256[] memory orderIds)
        internal
    {
        vm.prank(operator);
        registry.rotateAccount(memberId, newAccount);
        if (noteIds.length != 0) notes.emitRotationTransfers(memberId, noteIds);
        if (orderIds.length != 0) orders.emitRotationTransfers(memberId, orderIds);
        (,, bool rotating) = registry.rotationOf(memberId);
        if (rotating) {
            vm.prank(operator);
            registry.finishRotation(memberId);
        }
    }

    function _ids() internal pure returns (uint256[] memory ids) {
        ids = new uint256[](0);
    }

    function _ids(uint256 a) internal pure returns (uint256[] memory ids) {
        ids = new uint256[](1);
        ids[0] = a;
    }

    function _ids(uint256 a, uint256 b) internal pure returns (uint256[] memory ids) {
        ids = new uint256[](2);
        ids[0] = a;
        ids[1] = b;
    }
}
