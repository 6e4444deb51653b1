// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

/// @title Confirmed-order book: ERC-721 order tokens held by members, with a pledge (lien) per order.
/// @notice Order ids start at 1. The token is minted to the proposing supplier and may be transferred
///         (members with a holding role only) while not pledged; the receivable issued on acceptance
///         goes to the order token's holder, locked to the lienholder if the order is pledged.
interface IOrderBook {
    enum OrderStatus {
        None,
        Proposed,
        Confirmed,
        Delivered,
        Invoiced,
        Cancelled
    }

    struct Order {
        uint32 supplierId; // proposing supplier (member id)
        uint32 buyerId; // core enterprise that confirms and owes (member id)
        uint32 lienholderId; // financier holding the pledge, 0 = none
        OrderStatus status;
        uint64 dueDate; // expected payment date (unix seconds)
        uint128 amount; // order amount in minor units of `cashToken`
        address cashToken; // currency
        bytes32 documentHash; // hash of the purchase order document
        uint256 slotId; // receivable issued on acceptance, 0 before
    }

    error UnknownOrder(uint256 orderId);
    error InvalidOrderState(uint256 orderId, OrderStatus status);
    error NotOrderSupplier(uint256 orderId, address caller);
    error NotOrderBuyer(uint256 orderId, address caller);
    error NotOrderHolder(uint256 orderId, address caller);
    error NotOrderParty(uint256 orderId, address caller);
    error NotLienholder(uint256 orderId, address caller);
    error OrderAlreadyPledged(uint256 orderId, uint32 lienholderId);
    error OrderNotPledged(uint256 orderId);
    error InvalidAmount(uint256 amount);
    error InvalidDueDate(uint64 dueDate);
    error SelfDealing(address account);
    error FaceValueAboveOrderAmount(uint256 orderId, uint256 faceValue, uint256 amount);

    event OrderProposed(
        uint256 indexed orderId,
        uint32 indexed supplierId,
        uint32 indexed buyerId,
        uint128 amount,
        address cashToken,
        bytes32 documentHash,
        uint64 dueDate
    );
    event OrderConfirmed(uint256 indexed orderId, uint32 indexed buyerId);
    event OrderDelivered(uint256 indexed orderId);
    event OrderAccepted(uint256 indexed orderId, uint256 indexed slotId, uint256 indexed noteId);
    event OrderCancelled(uint256 indexed orderId, uint32 indexed byMemberId);
    event OrderPledged(uint256 indexed orderId, uint32 indexed lienholderId);
    event OrderReleased(uint256 indexed orderId, uint32 indexed lienholderId);

    /// @notice Supplier proposes an order to `buyer`. Mints the order token to the supplier.
    /// @param buyer the buyer's account (an active core enterprise)
    /// @param amount the order's amount, in the cash token's minor units
    /// @param cashToken the cash token it is priced in
    /// @param documentHash the purchase order document's hash
    /// @param dueDate when payment is due (unix seconds)
    /// @return orderId the new order (its ERC-721 token id)
    function propose(address buyer, uint128 amount, address cashToken, bytes32 documentHash, uint64 dueDate)
        external
        returns (uint256 orderId);
    /// @notice Buyer confirms a proposed order.
    /// @param orderId the order
    function confirm(uint256 orderId) external;
    /// @notice The proposing supplier (who delivers the goods, whoever holds the order token) marks a confirmed
    ///         order delivered.
    /// @param orderId the order
    function deliver(uint256 orderId) external;
    /// @notice Buyer accepts delivery and issues the receivable it owes (one per order, faceValue <= amount).
    /// @param orderId the delivered order
    /// @param faceValue the receivable's face value, in minor units
    /// @param maturity when it is due (unix seconds)
    /// @param invoiceHash the invoice's hash, unique across the ledger
    /// @return slotId the new receivable
    /// @return noteId its first note (locked to the order's lienholder, if any)
    function accept(uint256 orderId, uint128 faceValue, uint64 maturity, bytes32 invoiceHash)
        external
        returns (uint256 slotId, uint256 noteId);
    /// @notice Supplier or buyer cancels an order that is not yet confirmed.
    /// @param orderId the order
    function cancel(uint256 orderId) external;
    /// @notice Holder pledges a Confirmed or Delivered order to one financier.
    /// @param orderId the order
    /// @param financier the financier's account
    function pledge(uint256 orderId, address financier) external;
    /// @notice Lienholder releases its pledge.
    /// @param orderId the pledged order
    function release(uint256 orderId) external;
    /// @notice Ledger contracts (Financing) release a lien on the lienholder's behalf (loan repaid).
    /// @param orderId the pledged order
    function releaseByLedger(uint256 orderId) external;

    /// @notice An order's terms and state.
    /// @param orderId the order
    /// @return the order
    function order(uint256 orderId) external view returns (Order memory);
    /// @notice How many orders were proposed.
    /// @return the number of orders (the last order id)
    function orderCount() external view returns (uint256);
    /// @notice The member an order is pledged to.
    /// @param orderId the order
    /// @return the lienholder's member id, 0 when not pledged
    function lienholderOf(uint256 orderId) external view returns (uint32);
    /// @notice Member id holding the order token.
    /// @param orderId the order
    /// @return the holder's member id
    function holderOf(uint256 orderId) external view returns (uint32);
}
