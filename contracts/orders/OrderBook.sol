// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {IERC165} from "@openzeppelin/contracts/utils/introspection/IERC165.sol";
import {IERC721} from "@openzeppelin/contracts/token/ERC721/IERC721.sol";
import {ERC721Utils} from "@openzeppelin/contracts/token/ERC721/utils/ERC721Utils.sol";
import {IMemberRegistry} from "../interfaces/IMemberRegistry.sol";
import {IOrderBook} from "../interfaces/IOrderBook.sol";
import {IReceivableNotes} from "../interfaces/IReceivableNotes.sol";
import {LedgerAccess} from "../libraries/LedgerAccess.sol";
import {MemberHoldings} from "../libraries/MemberHoldings.sol";
import {Roles} from "../libraries/Roles.sol";

/// @title Confirmed-order book: ERC-721 order tokens held by members, with one pledge (lien) per order.
/// @notice Proposed -> Confirmed (buyer) -> Delivered (supplier) -> Invoiced (buyer accepts delivery and
///         issues the receivable), or Cancelled before confirmation. A Confirmed or Delivered order may be
///         pledged to one financier; the receivable of a pledged order is issued locked to that financier.
/// @dev Holders are recorded by member id, so a rotated member account keeps its orders.
contract OrderBook is MemberHoldings, IOrderBook {
    /// @dev `rotationMark`: the registry rotation whose `Transfer` was emitted for the order (0 = none).
    struct Holding {
        uint32 memberId;
        uint32 rotationMark;
    }

    IReceivableNotes public immutable notes;

    mapping(uint256 orderId => Order) private _orders;
    mapping(uint256 orderId => Holding) private _holderOf;
    mapping(uint32 memberId => uint256) private _balance;
    mapping(uint256 orderId => address) private _tokenApproval;
    uint256 private _count;

    error InvalidRecipient(address to);
    error OrderNotTransferable(uint256 orderId, OrderStatus status);

    constructor(IMemberRegistry registry_, IReceivableNotes notes_) LedgerAccess(registry_) {
        if (address(notes_) == address(0)) revert ZeroAddress();
        notes = notes_;
    }

    // ------------------------------------------------------------------ lifecycle

    /// @inheritdoc IOrderBook
    function propose(address buyer, uint128 amount, address cashToken, bytes32 documentHash, uint64 dueDate)
        external
        whenNotPaused
        returns (uint256 orderId)
    {
        uint32 supplierId = _requireActive(msg.sender, Roles.SUPPLIER);
        uint32 buyerId = _requireActive(buyer, Roles.CORE_ENTERPRISE);
        if (buyerId == supplierId) revert SelfDealing(buyer);
        if (amount == 0 || amount > type(uint96).max) revert InvalidAmount(amount);
        if (cashToken == address(0)) revert ZeroAddress();
        if (dueDate <= block.timestamp) revert InvalidDueDate(dueDate);
        orderId = ++_count;
        _orders[orderId] =
            Order(supplierId, buyerId, 0, OrderStatus.Proposed, dueDate, amount, cashToken, documentHash, 0);
        _holderOf[orderId] = Holding(supplierId, 0);
        ++_balance[supplierId];
        emit Transfer(address(0), msg.sender, orderId);
        emit OrderProposed(orderId, supplierId, buyerId, amount, cashToken, documentHash, dueDate);
    }

    /// @inheritdoc IOrderBook
    function confirm(uint256 orderId) external whenNotPaused {
        Order storage o = _existing(orderId);
        _requireBuyer(orderId, o);
        _requireStatus(orderId, o, OrderStatus.Proposed);
        o.status = OrderStatus.Confirmed;
        emit OrderConfirmed(orderId, o.buyerId);
    }

    /// @inheritdoc IOrderBook
    function deliver(uint256 orderId) external whenNotPaused {
        Order storage o = _existing(orderId);
        if (_requireActive(msg.sender, Roles.SUPPLIER) != o.supplierId) {
            revert NotOrderSupplier(orderId, msg.sender);
        }
        _requireStatus(orderId, o, OrderStatus.Confirmed);
        o.status = OrderStatus.Delivered;
        emit OrderDelivered(orderId);
    }

    /// @inheritdoc IOrderBook
    function accept(uint256 orderId, uint128 faceValue, uint64 maturity, bytes32 invoiceHash)
        external
        whenNotPaused
        returns (uint256 slotId, uint256 noteId)
    {
        Order storage o = _existing(orderId);
        _requireBuyer(orderId, o);
        _requireStatus(orderId, o, OrderStatus.Delivered);
        if (faceValue > o.amount) revert FaceValueAboveOrderAmount(orderId, faceValue, o.amount);
        o.status = OrderStatus.Invoiced;
        (slotId, noteId) = notes.issueForOrder(
            orderId, o.buyerId, _holderOf[orderId].memberId, o.lienholderId, faceValue, o.cashToken, maturity, invoiceHash
        );
        o.slotId = slotId;
        emit OrderAccepted(orderId, slotId, noteId);
    }

    /// @inheritdoc IOrderBook
    function cancel(uint256 orderId) external whenNotPaused {
        Order storage o = _existing(orderId);
        uint32 caller = registry.memberIdOf(msg.sender);
        if (caller == 0 || (caller != o.supplierId && caller != o.buyerId)) revert NotOrderParty(orderId, msg.sender);
        _requireActive(msg.sender, Roles.SUPPLIER | Roles.CORE_ENTERPRISE);
        _requireStatus(orderId, o, OrderStatus.Proposed);
        o.status = OrderStatus.Cancelled;
        emit OrderCancelled(orderId, caller);
    }

    /// @inheritdoc IOrderBook
    function pledge(uint256 orderId, address financier) external whenNotPaused {
        Order storage o = _existing(orderId);
        uint32 holderId = _holderOf[orderId].memberId;
        if (_requireActive(msg.sender, Roles.HOLDER) != holderId) revert NotOrderHolder(orderId, msg.sender);
        if (o.status != OrderStatus.Confirmed && o.status != OrderStatus.Delivered) {
            revert InvalidOrderState(orderId, o.status);
        }
        if (o.lienholderId != 0) revert OrderAlreadyPledged(orderId, o.lienholderId);
        uint32 lienId = _requireActive(financier, Roles.FINANCIER);
        if (lienId == holderId || lienId == o.buyerId) revert SelfDealing(financier);
        o.lienholderId = lienId;
        emit OrderPledged(orderId, lienId);
    }

    /// @inheritdoc IOrderBook
    function release(uint256 orderId) external whenNotPaused {
        Order storage o = _existing(orderId);
        uint32 lienId = o.lienholderId;
        if (lienId == 0) revert OrderNotPledged(orderId);
        if (_accountOf(lienId) != msg.sender) revert NotLienholder(orderId, msg.sender);
        o.lienholderId = 0;
        emit OrderReleased(orderId, lienId);
    }

    /// @inheritdoc IOrderBook
    function releaseByLedger(uint256 orderId) external onlyLedger whenNotPaused {
        Order storage o = _existing(orderId);
        uint32 lienId = o.lienholderId;
        if (lienId == 0) revert OrderNotPledged(orderId);
        o.lienholderId = 0;
        emit OrderReleased(orderId, lienId);
    }

    // ------------------------------------------------------------------ ERC-721

    /// @notice ERC-165: ERC-721 and ERC-165.
    /// @param interfaceId the ERC-165 interface id asked about
    /// @return whether the order book implements it
    function supportsInterface(bytes4 interfaceId) external pure returns (bool) {
        return interfaceId == type(IERC721).interfaceId || interfaceId == type(IERC165).interfaceId;
    }

    /// @notice Collection name.
    /// @return the name
    function name() external pure returns (string memory) {
        return "SCF Confirmed Orders";
    }

    /// @notice Collection symbol.
    /// @return the symbol
    function symbol() external pure returns (string memory) {
        return "SCFO";
    }

    /// @notice Number of orders held by `owner`.
    /// @param owner a member's current account
    /// @return its number of order tokens, 0 for an account that is not a member's
    function balanceOf(address owner) external view returns (uint256) {
        if (owner == address(0)) revert ZeroAddress();
        uint32 id = registry.memberIdOf(owner);
        return id == 0 ? 0 : _balance[id];
    }

    /// @notice Current account of the member holding the order.
    /// @param orderId the order
    /// @return the holder's account
    function ownerOf(uint256 orderId) external view returns (address) {
        _existing(orderId);
        return _accountOf(_holderOf[orderId].memberId);
    }

    /// @notice Moves an order token to another active member with a holding role. Not while pledged, and only
    ///         before the order is invoiced or cancelled.
    /// @param from the order's holder
    /// @param to the recipient
    /// @param orderId the order
    function transferFrom(address from, address to, uint256 orderId) public whenNotPaused {
        Order storage o = _existing(orderId);
        Holding memory h = _holderOf[orderId];
        uint32 holderId = h.memberId;
        address holder = _requireActiveId(holderId, Roles.HOLDER);
        if (from != holder) revert NotOrderHolder(orderId, from);
        if (msg.sender != holder && !_isApproved(holderId, msg.sender, _tokenApproval[orderId] == msg.sender)) {
            revert NotApproved(orderId, msg.sender);
        }
        if (o.status == OrderStatus.Invoiced || o.status == OrderStatus.Cancelled) {
            revert OrderNotTransferable(orderId, o.status);
        }
        if (o.lienholderId != 0) revert OrderAlreadyPledged(orderId, o.lienholderId);
        uint32 toId = _requireActive(to, Roles.HOLDER);
        if (toId == holderId) revert InvalidRecipient(to);
        if (toId == o.buyerId) revert SelfDealing(to); // the buyer cannot become its own creditor
        _holderOf[orderId] = Holding(toId, 0);
        _forgetRotationTransfer(holderId, h.rotationMark);
        delete _tokenApproval[orderId];
        unchecked {
            --_balance[holderId];
            ++_balance[toId];
        }
        emit Transfer(from, to, orderId);
    }

    /// @notice ERC-721 safe transfer: a contract recipient must accept the order token.
    /// @param from the order's holder
    /// @param to the recipient
    /// @param orderId the order
    /// @param data passed to the recipient's onERC721Received
    function safeTransferFrom(address from, address to, uint256 orderId, bytes memory data) public {
        transferFrom(from, to, orderId);
        ERC721Utils.checkOnERC721Received(msg.sender, from, to, orderId, data);
    }

    /// @notice ERC-721 safe transfer without data.
    /// @param from the order's holder
    /// @param to the recipient
    /// @param orderId the order
    function safeTransferFrom(address from, address to, uint256 orderId) external {
        safeTransferFrom(from, to, orderId, "");
    }

    // ------------------------------------------------------------------ views

    /// @inheritdoc IOrderBook
    function order(uint256 orderId) external view returns (Order memory) {
        return _existing(orderId);
    }

    /// @inheritdoc IOrderBook
    function holderOf(uint256 orderId) external view returns (uint32) {
        _existing(orderId);
        return _holderOf[orderId].memberId;
    }

    /// @inheritdoc IOrderBook
    function orderCount() external view returns (uint256) {
        return _count;
    }

    /// @inheritdoc IOrderBook
    function lienholderOf(uint256 orderId) external view returns (uint32) {
        return _existing(orderId).lienholderId;
    }

    function _markRotationTransfer(uint256 tokenId, uint32 memberId, uint32 rotationId)
        internal
        override
        returns (bool)
    {
        Holding memory h = _holderOf[tokenId];
        if (h.memberId != memberId || h.rotationMark == rotationId) return false;
        _holderOf[tokenId] = Holding(memberId, rotationId);
        return true;
    }

    function _heldBy(uint32 memberId) internal view override returns (uint256) {
        return _balance[memberId];
    }

    function _holderIdOf(uint256 tokenId) internal view override returns (uint32) {
        _existing(tokenId);
        return _holderOf[tokenId].memberId;
    }

    function _setTokenApproval(uint256 tokenId, address to) internal override {
        _tokenApproval[tokenId] = to;
    }

    function _tokenApprovalOf(uint256 tokenId) internal view override returns (address) {
        return _tokenApproval[tokenId];
    }

    function _existing(uint256 orderId) private view returns (Order storage o) {
        o = _orders[orderId];
        if (o.status == OrderStatus.None) revert UnknownOrder(orderId);
    }

    function _requireBuyer(uint256 orderId, Order storage o) private view {
        if (_requireActive(msg.sender, Roles.CORE_ENTERPRISE) != o.buyerId) {
            revert NotOrderBuyer(orderId, msg.sender);
        }
    }

    function _requireStatus(uint256 orderId, Order storage o, OrderStatus wanted) private view {
        if (o.status != wanted) revert InvalidOrderState(orderId, o.status);
    }
}
