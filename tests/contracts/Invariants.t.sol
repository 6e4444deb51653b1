// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.30;

import {Test} from "forge-std/Test.sol";
import {Vm} from "forge-std/Vm.sol";
import {console2} from "forge-std/console2.sol";
import {Base} from "./Base.t.sol";
import {IFinancing} from "../../contracts/interfaces/IFinancing.sol";
import {MemberRegistry} from "../../contracts/access/MemberRegistry.sol";
import {CashToken} from "../../contracts/cash/CashToken.sol";
import {ReceivableNotes} from "../../contracts/receivables/ReceivableNotes.sol";
import {OrderBook} from "../../contracts/orders/OrderBook.sol";
import {Financing} from "../../contracts/financing/Financing.sol";
import {Settlement} from "../../contracts/settlement/Settlement.sol";
import {IMemberRegistry} from "../../contracts/interfaces/IMemberRegistry.sol";
import {IReceivableNotes} from "../../contracts/interfaces/IReceivableNotes.sol";
import {IOrderBook} from "../../contracts/interfaces/IOrderBook.sol";
import {Roles} from "../../contracts/libraries/Roles.sol";

/// @notice Drives the ledger with bounded actions performed by real members (pranked) and keeps ghost state.
///         Every action ends with `_sync()`, which discovers new slots/notes, detects burned notes and checks
///         the per-step properties (role of each new holder, locked notes frozen, statuses only forward).
contract Handler is Test {
    MemberRegistry internal registry;
    CashToken internal cash;
    ReceivableNotes internal notes;
    OrderBook internal orders;
    Financing internal financing;
    Settlement internal settlement;
    address internal operator;

    address[] internal cores; // obligors
    address[] internal suppliers;
    address[] internal banks;
    address[] internal everyone; // every address a transfer may target, including non-holders
    address[] internal badRecipients; // outsider, permanently suspended supplier, auditor
    address[] internal suspendable; // members the operator suspends / reinstates

    // ------------------------------------------------------------------ ghost state
    uint256[] public slots;
    mapping(uint256 slotId => uint256[]) internal _live;
    mapping(uint256 slotId => uint256) public ghostFace;
    mapping(uint256 slotId => uint256) public ghostBurned; // value of notes burned (settled / claimed)
    mapping(uint256 slotId => uint8) public lastSlotStatus;
    mapping(uint256 orderId => uint8) public lastOrderStatus;
    mapping(uint256 noteId => uint32) public lastHolder;
    mapping(uint256 noteId => uint256) public lastValue;

    struct LockRec {
        uint32 lien;
        uint32 holder;
        uint256 value;
    }

    mapping(uint256 noteId => LockRec) internal _lockRec;

    bytes32[] public invoices;
    mapping(bytes32 invoiceHash => uint256) public ghostSlotOfInvoice;
    mapping(uint256 orderId => uint256) public ghostSlotOfOrder;
    uint256[] public offerIds;
    uint256[] public loanIds;
    uint256 internal knownSlots;
    uint256 internal knownNotes;
    uint256 internal knownOrders;

    // ------------------------------------------------------------------ read model rebuilt from events only
    // What a generic ERC-721 / ERC-3525 indexer knows: Transfer, SlotChanged and TransferValue of the notes and
    // Transfer of the orders, applied in order (recorded with vm.recordLogs, absorbed after every action).
    mapping(uint256 noteId => address) public evOwner;
    mapping(uint256 noteId => uint256) public evSlot;
    mapping(uint256 noteId => uint256) public evValue;
    mapping(uint256 orderId => address) public evOrderOwner;
    uint256 internal rotations;

    // ------------------------------------------------------------------ violation flags (must stay false)
    bool public invoiceReuseSucceeded;
    bool public orderReuseSucceeded;
    bool public badTransferSucceeded;
    bool public holderRoleViolated;
    bool public lockedNoteMoved;
    bool public statusWentBack;
    string public lastViolation;
    bytes4 public lastAcceptError;

    // ------------------------------------------------------------------ call summary
    mapping(bytes32 => uint256) public okCalls;
    mapping(bytes32 => uint256) public tries;

    struct Config {
        MemberRegistry registry;
        CashToken cash;
        ReceivableNotes notes;
        OrderBook orders;
        Financing financing;
        Settlement settlement;
        address operator;
    }

    constructor(Config memory c) {
        registry = c.registry;
        cash = c.cash;
        notes = c.notes;
        orders = c.orders;
        financing = c.financing;
        settlement = c.settlement;
        operator = c.operator;
    }

    function setActors(
        address[] memory cores_,
        address[] memory suppliers_,
        address[] memory banks_,
        address[] memory bad_,
        address[] memory suspendable_
    ) external {
        require(everyone.length == 0, "once");
        cores = cores_;
        suppliers = suppliers_;
        banks = banks_;
        badRecipients = bad_;
        suspendable = suspendable_;
        for (uint256 i; i < cores_.length; ++i) everyone.push(cores_[i]);
        for (uint256 i; i < suppliers_.length; ++i) everyone.push(suppliers_[i]);
        for (uint256 i; i < banks_.length; ++i) everyone.push(banks_[i]);
        for (uint256 i; i < bad_.length; ++i) everyone.push(bad_[i]);
    }

    // ================================================================== views for the invariants

    function slotsLength() external view returns (uint256) {
        return slots.length;
    }

    function liveOf(uint256 slotId) external view returns (uint256[] memory) {
        return _live[slotId];
    }

    function invoicesLength() external view returns (uint256) {
        return invoices.length;
    }

    function lockRec(uint256 noteId) external view returns (LockRec memory) {
        return _lockRec[noteId];
    }

    // ================================================================== helpers

    /// @dev Also feeds the event-only read model: forge records the logs of reverted calls too, so the logs of
    ///      a failed attempt are dropped and those of a successful one applied.
    function _tick(bytes32 what, bool ok) internal {
        ++tries[what];
        if (ok) {
            ++okCalls[what];
            _absorbLogs();
        } else {
            vm.getRecordedLogs();
        }
    }

    function _isHolder(address a) internal view returns (bool) {
        return registry.isActive(a, Roles.HOLDER);
    }

    /// @dev Mostly an active-looking member other than `not`; one time in eight anyone (incl. non-holders).
    function _pickRecipient(uint256 seed, address not_) internal view returns (address to) {
        if (seed % 8 == 0) return everyone[(seed >> 3) % everyone.length];
        uint256 n = cores.length + suppliers.length + banks.length; // holders come first in `everyone`
        to = everyone[(seed >> 3) % n];
        if (to == not_) to = everyone[((seed >> 3) + 1) % n];
    }

    function _pickNote(uint256 seed) internal view returns (bool found, uint256 slotId, uint256 noteId) {
        if (slots.length == 0) return (false, 0, 0);
        // prefer a slot whose notes can still move (Active, not matured, with notes); fall back to any
        for (uint256 t; t < 4; ++t) {
            slotId = slots[(seed % slots.length + t * 7919) % slots.length];
            uint256[] storage ids = _live[slotId];
            if (ids.length == 0) continue;
            IReceivableNotes.Receivable memory r = notes.receivable(slotId);
            if (t < 3 && (r.status != IReceivableNotes.SlotStatus.Active || block.timestamp >= r.maturity)) continue;
            return (true, slotId, ids[(seed >> 64) % ids.length]);
        }
        return (false, slotId, 0);
    }

    /// @dev Prefers an Active slot (a few tries), else any slot.
    function _pickSlot(uint256 seed) internal view returns (bool found, uint256 slotId) {
        if (slots.length == 0) return (false, 0);
        for (uint256 t; t < 3; ++t) {
            slotId = slots[(seed % slots.length + t * 7919) % slots.length];
            if (notes.receivable(slotId).status == IReceivableNotes.SlotStatus.Active) return (true, slotId);
        }
        return (true, slotId);
    }

    function _flag(string memory why) internal {
        lastViolation = why;
    }

    function _orderForward(uint8 from, uint8 to) internal pure returns (bool) {
        if (from == to) return true;
        // Proposed(1) -> Confirmed(2) -> Delivered(3) -> Invoiced(4); Proposed -> Cancelled(5)
        if (from >= 1 && from <= 3 && to > from && to <= 4) return true;
        if (from == 1 && to == 5) return true;
        return false;
    }

    function _slotForward(uint8 from, uint8 to) internal pure returns (bool) {
        if (from == to) return true;
        return from == 1 && (to == 2 || to == 3);
    }

    function _checkHolder(uint256 noteId, uint32 holderId) internal {
        address a = registry.accountOf(holderId);
        if (!_isHolder(a)) {
            holderRoleViolated = true;
            _flag(string.concat("note ", vm.toString(noteId), " received by non-holder member ", vm.toString(holderId)));
        }
    }

    bytes32 internal constant TRANSFER = keccak256("Transfer(address,address,uint256)");
    bytes32 internal constant SLOT_CHANGED = keccak256("SlotChanged(uint256,uint256,uint256)");
    bytes32 internal constant TRANSFER_VALUE = keccak256("TransferValue(uint256,uint256,uint256)");

    /// @dev Applies the token events emitted since the last call to the event-only read model.
    function _absorbLogs() internal {
        Vm.Log[] memory logs = vm.getRecordedLogs();
        for (uint256 i; i < logs.length; ++i) {
            Vm.Log memory l = logs[i];
            bytes32 t0 = l.topics.length == 0 ? bytes32(0) : l.topics[0];
            if (l.emitter == address(notes)) {
                if (t0 == TRANSFER) {
                    evOwner[uint256(l.topics[3])] = address(uint160(uint256(l.topics[2])));
                } else if (t0 == SLOT_CHANGED) {
                    evSlot[uint256(l.topics[1])] = uint256(l.topics[3]);
                } else if (t0 == TRANSFER_VALUE) {
                    uint256 v = abi.decode(l.data, (uint256));
                    uint256 from = uint256(l.topics[1]);
                    uint256 to = uint256(l.topics[2]);
                    if (from != 0) evValue[from] -= v;
                    if (to != 0) evValue[to] += v;
                }
            } else if (l.emitter == address(orders) && t0 == TRANSFER) {
                evOrderOwner[uint256(l.topics[3])] = address(uint160(uint256(l.topics[2])));
            }
        }
    }

    /// @dev Discovers new slots / notes / orders, retires burned notes, checks per-step properties.
    function _sync() internal {
        _absorbLogs();
        uint256 sc = notes.slotCount();
        for (uint256 s = knownSlots + 1; s <= sc; ++s) {
            IReceivableNotes.Receivable memory r = notes.receivable(s);
            slots.push(s);
            ghostFace[s] = r.faceValue;
            if (ghostSlotOfInvoice[r.invoiceHash] != 0) {
                invoiceReuseSucceeded = true;
                _flag("invoice tokenised twice");
            } else {
                invoices.push(r.invoiceHash);
            }
            ghostSlotOfInvoice[r.invoiceHash] = s;
            if (r.orderId != 0) {
                if (ghostSlotOfOrder[r.orderId] != 0) {
                    orderReuseSucceeded = true;
                    _flag("order tokenised twice");
                }
                ghostSlotOfOrder[r.orderId] = s;
            }
            lastSlotStatus[s] = uint8(r.status);
        }
        knownSlots = sc;

        uint256 nc = notes.noteCount();
        for (uint256 id = knownNotes + 1; id <= nc; ++id) {
            IReceivableNotes.Note memory n = notes.note(id);
            _live[n.slotId].push(id);
            _checkHolder(id, n.holderId);
            lastHolder[id] = n.holderId;
            lastValue[id] = n.value;
        }
        knownNotes = nc;

        for (uint256 k; k < slots.length; ++k) {
            uint256 s = slots[k];
            uint256[] storage ids = _live[s];
            uint256 i;
            while (i < ids.length) {
                uint256 id = ids[i];
                try notes.note(id) returns (IReceivableNotes.Note memory n) {
                    if (n.holderId != lastHolder[id]) {
                        _checkHolder(id, n.holderId);
                        lastHolder[id] = n.holderId;
                    }
                    LockRec storage L = _lockRec[id];
                    if (n.lienholderId != 0) {
                        if (L.lien == n.lienholderId) {
                            if (L.holder != n.holderId || L.value != n.value) {
                                lockedNoteMoved = true;
                                _flag(string.concat("locked note moved: ", vm.toString(id)));
                            }
                        } else {
                            _lockRec[id] = LockRec(n.lienholderId, n.holderId, n.value);
                        }
                    } else if (L.lien != 0) {
                        delete _lockRec[id];
                    }
                    lastValue[id] = n.value;
                    ++i;
                } catch {
                    // burned
                    ghostBurned[s] += lastValue[id];
                    if (_lockRec[id].lien != 0) {
                        lockedNoteMoved = true;
                        _flag(string.concat("locked note burned: ", vm.toString(id)));
                    }
                    ids[i] = ids[ids.length - 1];
                    ids.pop();
                }
            }
            uint8 st = uint8(notes.receivable(s).status);
            if (!_slotForward(lastSlotStatus[s], st)) {
                statusWentBack = true;
                _flag(string.concat("slot status went back: ", vm.toString(s)));
            }
            lastSlotStatus[s] = st;
        }

        uint256 oc = orders.orderCount();
        for (uint256 o = 1; o <= oc; ++o) {
            uint8 st = uint8(orders.order(o).status);
            if (o > knownOrders) {
                lastOrderStatus[o] = st;
                continue;
            }
            if (!_orderForward(lastOrderStatus[o], st)) {
                statusWentBack = true;
                _flag(string.concat("order status went back: ", vm.toString(o)));
            }
            lastOrderStatus[o] = st;
        }
        knownOrders = oc;
    }

    // ================================================================== actions: receivables

    function issue(uint256 coreSeed, uint256 toSeed, uint256 face, uint256 tenor, uint256 invSeed) public {
        address obligor = cores[coreSeed % cores.length];
        address to = _pickRecipient(toSeed, obligor);
        IMemberRegistry.Member memory m = registry.member(registry.memberIdOf(obligor));
        uint256 room = m.creditLimit > m.outstanding ? m.creditLimit - m.outstanding : 0;
        // mostly within the remaining credit, sometimes just above it
        face = _bound(face, 100, room / 4 + 200);
        uint64 maturity = uint64(block.timestamp + _bound(tenor, 0, 400 days));
        bytes32 inv = keccak256(abi.encode("inv", invSeed % 64));
        bool reused = ghostSlotOfInvoice[inv] != 0;
        bool badTo = !_isHolder(to);
        vm.prank(obligor);
        try notes.issue(to, uint128(face), address(cash), maturity, inv) {
            _tick("issue", true);
            if (reused) {
                invoiceReuseSucceeded = true;
                _flag("issue reused an invoice hash");
            }
            if (badTo) {
                badTransferSucceeded = true;
                _flag("issued to a non-holder");
            }
        } catch {
            _tick("issue", false);
        }
        _sync();
    }

    /// @dev Second entry point so issuance is picked more often (the fuzzer picks selectors uniformly).
    function issueMore(uint256 seed, uint256 face, uint256 tenor) external {
        seed = uint256(keccak256(abi.encode(seed)));
        issue(seed, seed >> 8, face, tenor % 200 days, seed >> 16);
    }

    /// @dev Drives one order through its lifecycle: propose, confirm, pledge (maybe), lend (maybe), deliver, accept.
    function orderLifecycle(uint256 seed, uint256 amount, uint256 face, uint256 tenor) external {
        seed = uint256(keccak256(abi.encode(seed)));
        propose(seed, seed >> 8, amount, seed >> 16);
        uint256 oc = orders.orderCount();
        if (oc == 0) return;
        uint256 seedOfLast = oc - 1; // _pickOrder(seed) = seed % oc + 1
        confirm(seedOfLast);
        if ((seed >> 24) % 2 == 0) {
            pledge(seedOfLast, seed >> 32);
            if ((seed >> 40) % 2 == 0) lend(seedOfLast, amount / 2, seed >> 48, seed >> 56);
        }
        if ((seed >> 64) % 4 == 0) return; // leave some orders Confirmed
        deliver(seedOfLast);
        accept(seedOfLast, face, tenor % 300 days, seed >> 72);
    }

    function split(uint256 noteSeed, uint256 toSeed, uint256 value) external {
        (bool found,, uint256 id) = _pickNote(noteSeed);
        if (!found) return;
        address from = notes.ownerOf(id);
        address to = _pickRecipient(toSeed, from);
        value = _bound(value, 0, notes.balanceOf(id) + 1);
        bool badTo = !_isHolder(to);
        vm.prank(from);
        try notes.transferFrom(id, to, value) returns (uint256) {
            _tick("split", true);
            _valueMovedOut(id);
            if (badTo) {
                badTransferSucceeded = true;
                _flag(string.concat("split to non-holder succeeded, note ", vm.toString(id)));
            }
        } catch {
            _tick("split", false);
        }
        _sync();
    }

    /// @dev Bulk payment: 1 to 4 recipients (sometimes a non-holder among them, which must fail the whole batch),
    ///      one time in three paying out the whole note (burned, S-3).
    function splitBatch(uint256 noteSeed, uint256 toSeed, uint256 value) external {
        (bool found,, uint256 id) = _pickNote(noteSeed);
        if (!found) return;
        address from = notes.ownerOf(id);
        uint256 count = toSeed % 4 + 1;
        address[] memory to = new address[](count);
        uint256[] memory values = new uint256[](count);
        uint256 held = notes.balanceOf(id);
        bool badTo;
        for (uint256 i; i < count; ++i) {
            to[i] = _pickRecipient(uint256(keccak256(abi.encode(toSeed, i))), from);
            badTo = badTo || !_isHolder(to[i]);
            values[i] = _bound(uint256(keccak256(abi.encode(value, i))), 0, held / count + 1);
        }
        if (value % 3 == 0) {
            uint256 rest = _sum(values, count - 1);
            values[count - 1] = held > rest ? held - rest : 0;
        }
        vm.prank(from);
        try notes.splitBatch(id, to, values) returns (uint256) {
            _tick("splitBatch", true);
            _valueMovedOut(id);
            if (badTo) {
                badTransferSucceeded = true;
                _flag(string.concat("bulk payment to a non-holder succeeded, note ", vm.toString(id)));
            }
        } catch {
            _tick("splitBatch", false);
        }
        _sync();
    }

    function _sum(uint256[] memory values, uint256 n) internal pure returns (uint256 total) {
        for (uint256 i; i < n; ++i) {
            total += values[i];
        }
    }

    /// @dev S-3: a value move that empties a note burns it; its value went to another note, not to a payout.
    function _valueMovedOut(uint256 id) internal {
        try notes.note(id) {} catch {
            lastValue[id] = 0;
        }
    }

    function merge(uint256 slotSeed, uint256 i, uint256 j, uint256 value) external {
        (bool found, uint256 s) = _pickSlot(slotSeed);
        if (!found) return;
        uint256[] storage ids = _live[s];
        if (ids.length < 2) return;
        uint256 a = ids[i % ids.length];
        uint256 b = ids[j % ids.length];
        address from = notes.ownerOf(a);
        address toHolder = notes.ownerOf(b);
        // one time in three move the whole value (the emptied note is burned, S-3)
        value = value % 3 == 0 ? notes.balanceOf(a) : _bound(value, 0, notes.balanceOf(a) + 1);
        bool badTo = !_isHolder(toHolder) && toHolder != from;
        vm.prank(from);
        try notes.transferFrom(a, b, value) {
            _tick("merge", true);
            _valueMovedOut(a);
            if (badTo) {
                badTransferSucceeded = true;
                _flag("value moved into a note of a non-holder");
            }
        } catch {
            _tick("merge", false);
        }
        _sync();
    }

    function transferWhole(uint256 noteSeed, uint256 toSeed) external {
        (bool found,, uint256 id) = _pickNote(noteSeed);
        if (!found) return;
        address from = notes.ownerOf(id);
        address to = _pickRecipient(toSeed, from);
        bool badTo = !_isHolder(to);
        vm.prank(from);
        try notes.transferFrom(from, to, id) {
            _tick("transferWhole", true);
            if (badTo) {
                badTransferSucceeded = true;
                _flag(string.concat("whole transfer to non-holder succeeded, note ", vm.toString(id)));
            }
        } catch {
            _tick("transferWhole", false);
        }
        _sync();
    }

    /// @dev Deliberate attempts to move notes / orders to outsider, suspended members or the auditor.
    function transferToBad(uint256 noteSeed, uint256 badSeed, uint256 value) external {
        address to;
        // sometimes target a member the operator suspended
        if (badSeed % 3 == 0) {
            address cand = suspendable[(badSeed / 3) % suspendable.length];
            if (!_isHolder(cand)) to = cand;
        }
        if (to == address(0)) to = badRecipients[badSeed % badRecipients.length];
        (bool found,, uint256 id) = _pickNote(noteSeed);
        if (found) {
            address from = notes.ownerOf(id);
            value = _bound(value, 100, notes.balanceOf(id) > 100 ? notes.balanceOf(id) : 100);
            vm.prank(from);
            try notes.transferFrom(id, to, value) returns (uint256) {
                badTransferSucceeded = true;
                _flag("split to bad recipient succeeded");
            } catch {}
            vm.prank(from);
            try notes.transferFrom(from, to, id) {
                badTransferSucceeded = true;
                _flag("whole transfer to bad recipient succeeded");
            } catch {}
            _tick("transferToBad", false);
        }
        uint256 oc = orders.orderCount();
        if (oc != 0) {
            uint256 o = (noteSeed % oc) + 1;
            address holder = orders.ownerOf(o);
            vm.prank(holder);
            try orders.transferFrom(holder, to, o) {
                badTransferSucceeded = true;
                _flag("order transfer to bad recipient succeeded");
            } catch {}
        }
        _sync();
    }

    function lock(uint256 noteSeed, uint256 bankSeed) external {
        (bool found,, uint256 id) = _pickNote(noteSeed);
        if (!found) return;
        address from = notes.ownerOf(id);
        address lien = banks[bankSeed % banks.length];
        vm.prank(from);
        try notes.lock(id, lien) {
            _tick("lock", true);
        } catch {
            _tick("lock", false);
        }
        _sync();
    }

    function release(uint256 noteSeed) external {
        (bool found,, uint256 id) = _pickNote(noteSeed);
        if (!found) return;
        uint32 lien = notes.lienholderOf(id);
        if (lien == 0) return;
        address l = registry.accountOf(lien);
        vm.prank(l);
        try notes.release(id) {
            _tick("release", true);
        } catch {
            _tick("release", false);
        }
        _sync();
    }

    // ================================================================== actions: orders

    function propose(uint256 supSeed, uint256 buyerSeed, uint256 amount, uint256 due) public {
        address sup = suppliers[supSeed % suppliers.length];
        address buyer = cores[buyerSeed % cores.length];
        amount = _bound(amount, 100, 200_000_00);
        uint64 dueDate = uint64(block.timestamp + _bound(due, 1 days, 200 days));
        vm.prank(sup);
        try orders.propose(buyer, uint128(amount), address(cash), keccak256(abi.encode("po", amount)), dueDate) {
            _tick("propose", true);
        } catch {
            _tick("propose", false);
        }
        _sync();
    }

    function _pickOrder(uint256 seed) internal view returns (bool, uint256, IOrderBook.Order memory o) {
        uint256 oc = orders.orderCount();
        if (oc == 0) return (false, 0, o);
        uint256 id = (seed % oc) + 1;
        return (true, id, orders.order(id));
    }

    function confirm(uint256 orderSeed) public {
        (bool found, uint256 id, IOrderBook.Order memory o) = _pickOrder(orderSeed);
        if (!found) return;
        address buyer = registry.accountOf(o.buyerId);
        vm.prank(buyer);
        try orders.confirm(id) {
            _tick("confirm", true);
        } catch {
            _tick("confirm", false);
        }
        _sync();
    }

    function deliver(uint256 orderSeed) public {
        (bool found, uint256 id, IOrderBook.Order memory o) = _pickOrder(orderSeed);
        if (!found) return;
        address sup = registry.accountOf(o.supplierId);
        vm.prank(sup);
        try orders.deliver(id) {
            _tick("deliver", true);
        } catch {
            _tick("deliver", false);
        }
        _sync();
    }

    function pledge(uint256 orderSeed, uint256 bankSeed) public {
        (bool found, uint256 id,) = _pickOrder(orderSeed);
        if (!found) return;
        address holder = orders.ownerOf(id);
        address b = banks[bankSeed % banks.length];
        vm.prank(holder);
        try orders.pledge(id, b) {
            _tick("pledge", true);
        } catch {
            _tick("pledge", false);
        }
        _sync();
    }

    function accept(uint256 orderSeed, uint256 face, uint256 tenor, uint256 invSeed) public {
        (bool found, uint256 id, IOrderBook.Order memory o) = _pickOrder(orderSeed);
        if (!found) return;
        address buyer = registry.accountOf(o.buyerId);
        face = _bound(face, 100, uint256(o.amount) + 100);
        uint64 maturity = uint64(block.timestamp + _bound(tenor, 0, 400 days));
        bytes32 inv = keccak256(abi.encode("inv", invSeed % 64));
        bool reusedInv = ghostSlotOfInvoice[inv] != 0;
        bool reusedOrder = ghostSlotOfOrder[id] != 0;
        vm.prank(buyer);
        try orders.accept(id, uint128(face), maturity, inv) {
            _tick("accept", true);
            if (reusedInv) {
                invoiceReuseSucceeded = true;
                _flag("accept reused an invoice hash");
            }
            if (reusedOrder) {
                orderReuseSucceeded = true;
                _flag("order accepted twice");
            }
        } catch (bytes memory err) {
            _tick("accept", false);
            lastAcceptError = bytes4(err);
        }
        _sync();
    }

    function cancel(uint256 orderSeed, bool byBuyer) external {
        (bool found, uint256 id, IOrderBook.Order memory o) = _pickOrder(orderSeed);
        if (!found) return;
        address who = registry.accountOf(byBuyer ? o.buyerId : o.supplierId);
        vm.prank(who);
        try orders.cancel(id) {
            _tick("cancel", true);
        } catch {
            _tick("cancel", false);
        }
        _sync();
    }

    // ================================================================== actions: financing

    function lend(uint256 orderSeed, uint256 principal, uint256 rate, uint256 due) public {
        (bool found, uint256 id, IOrderBook.Order memory o) = _pickOrder(orderSeed);
        if (!found || o.lienholderId == 0) return;
        address b = registry.accountOf(o.lienholderId);
        principal = _bound(principal, 1, uint256(o.amount) * 9 / 10 + 1);
        rate = _bound(rate, 0, 2_000);
        uint64 dueDate = uint64(block.timestamp + _bound(due, 1 days, 120 days));
        vm.prank(b);
        try financing.lend(id, uint96(principal), uint32(rate), dueDate) returns (uint256 loanId) {
            loanIds.push(loanId);
            _tick("lend", true);
        } catch {
            _tick("lend", false);
        }
        _sync();
    }

    function repay(uint256 loanSeed) external {
        if (loanIds.length == 0) return;
        uint256 loanId = loanIds[loanSeed % loanIds.length];
        IFinancing.Loan memory l = financing.loan(loanId);
        address borrower = registry.accountOf(l.borrowerId);
        vm.prank(borrower);
        try financing.repay(loanId) {
            _tick("repay", true);
        } catch {
            _tick("repay", false);
        }
        _sync();
    }

    function foreclose(uint256 loanSeed, uint256 warpMode) external {
        bool warpPastDue = warpMode % 4 == 0;
        if (loanIds.length == 0) return;
        uint256 loanId = loanIds[loanSeed % loanIds.length];
        IFinancing.Loan memory l = financing.loan(loanId);
        if (warpPastDue && block.timestamp <= l.dueDate) vm.warp(uint256(l.dueDate) + 1);
        address b = registry.accountOf(l.financierId);
        vm.prank(b);
        try financing.foreclose(loanId) {
            _tick("foreclose", true);
        } catch {
            _tick("foreclose", false);
        }
        _sync();
    }

    function makeOffer(uint256 noteSeed, uint256 bankSeed, uint256 value, uint256 rate, bool recourse) external {
        (bool found,, uint256 id) = _pickNote(noteSeed);
        if (!found) return;
        address b = banks[bankSeed % banks.length];
        value = _bound(value, 1, notes.balanceOf(id) + 1);
        rate = _bound(rate, 0, 3_000);
        vm.prank(b);
        try financing.makeOffer(id, uint96(value), uint32(rate), recourse, uint64(block.timestamp + 10 days)) returns (
            uint256 offerId
        ) {
            offerIds.push(offerId);
            _tick("makeOffer", true);
        } catch {
            _tick("makeOffer", false);
        }
        _sync();
    }

    function acceptOffer(uint256 offerSeed) external {
        if (offerIds.length == 0) return;
        uint256 offerId = offerIds[offerSeed % offerIds.length];
        IFinancing.Offer memory of_ = financing.offer(offerId);
        address holder;
        try notes.ownerOf(of_.noteId) returns (address h) {
            holder = h;
        } catch {
            return;
        }
        vm.prank(holder);
        try financing.acceptOffer(offerId) {
            _tick("acceptOffer", true);
        } catch {
            _tick("acceptOffer", false);
        }
        _sync();
    }

    // ================================================================== actions: settlement

    function fund(uint256 slotSeed, uint256 amount) external {
        (bool found, uint256 s) = _pickSlot(slotSeed);
        if (!found) return;
        IReceivableNotes.Receivable memory r = notes.receivable(s);
        uint256 funded = settlement.funding(s).funded;
        if (funded >= r.faceValue) return;
        amount = _bound(amount, 1, r.faceValue - funded);
        address ob = registry.accountOf(r.obligorId);
        vm.prank(ob);
        try settlement.fund(s, amount) {
            _tick("fund", true);
        } catch {
            _tick("fund", false);
        }
        _sync();
    }

    function settle(uint256 slotSeed, uint256 count, uint256 start, uint256 warpMode, bool fundFully) external {
        bool warpToMaturity = warpMode % 4 == 0;
        (bool found, uint256 s) = _pickSlot(slotSeed);
        if (!found) return;
        IReceivableNotes.Receivable memory r = notes.receivable(s);
        if (r.status != IReceivableNotes.SlotStatus.Active) return;
        if (warpToMaturity && block.timestamp < r.maturity) vm.warp(r.maturity);
        if (fundFully) {
            uint256 funded = settlement.funding(s).funded;
            if (funded < r.faceValue) {
                address ob = registry.accountOf(r.obligorId);
                vm.prank(ob);
                try settlement.fund(s, r.faceValue - funded) {} catch {}
            }
        }
        uint256[] storage ids = _live[s];
        if (ids.length == 0) return;
        uint256 n = _bound(count, 1, ids.length);
        start = start % ids.length;
        uint256[] memory batch = new uint256[](n);
        for (uint256 i; i < n; ++i) {
            batch[i] = ids[(start + i) % ids.length];
        }
        try settlement.settle(s, batch) {
            _tick("settle", true);
        } catch {
            _tick("settle", false);
        }
        _sync();
    }

    function markDefault(uint256 slotSeed, uint256 warpMode) external {
        bool warpPastGrace = warpMode % 6 == 0;
        (bool found, uint256 s) = _pickSlot(slotSeed);
        if (!found) return;
        IReceivableNotes.Receivable memory r = notes.receivable(s);
        uint256 at = uint256(r.maturity) + settlement.gracePeriod();
        if (warpPastGrace && block.timestamp < at) vm.warp(at);
        try settlement.markDefault(s) {
            _tick("markDefault", true);
        } catch {
            _tick("markDefault", false);
        }
        _sync();
    }

    function claimDefaulted(uint256 slotSeed, uint256 count) external {
        (bool found, uint256 s) = _pickSlot(slotSeed);
        if (!found) return;
        uint256[] storage ids = _live[s];
        if (ids.length == 0) return;
        uint256 n = _bound(count, 1, ids.length);
        uint256[] memory batch = new uint256[](n);
        for (uint256 i; i < n; ++i) {
            batch[i] = ids[i];
        }
        try settlement.claimDefaulted(s, batch) {
            _tick("claimDefaulted", true);
        } catch {
            _tick("claimDefaulted", false);
        }
        _sync();
    }

    // ================================================================== actions: time and membership

    function warp(uint256 secs) external {
        vm.warp(block.timestamp + _bound(secs, 1 hours, 10 days));
        _tick("warp", true);
        _sync();
    }

    /// @dev Rotates a member's key the way the API does (rotate, emit the Transfer events in batches of at most
    ///      3, finish, recover the old account's cash) and from then on acts with the new account.
    function rotate(uint256 seed) external {
        address who = everyone[seed % (cores.length + suppliers.length + banks.length)];
        uint32 id = registry.memberIdOf(who);
        address fresh = makeAddr(string.concat("rotated-", vm.toString(++rotations)));
        vm.prank(operator);
        registry.rotateAccount(id, fresh);
        (,, bool rotating) = registry.rotationOf(id);
        if (rotating) {
            uint256[] memory held = new uint256[](notes.noteCount());
            uint256 n;
            for (uint256 k; k < slots.length; ++k) {
                uint256[] storage ids = _live[slots[k]];
                for (uint256 i; i < ids.length; ++i) {
                    if (notes.note(ids[i]).holderId == id) held[n++] = ids[i];
                }
            }
            _emitInBatches(address(notes), id, held, n);
            uint256 oc = orders.orderCount();
            held = new uint256[](oc);
            n = 0;
            for (uint256 o = 1; o <= oc; ++o) {
                if (orders.holderOf(o) == id) held[n++] = o;
            }
            _emitInBatches(address(orders), id, held, n);
            vm.prank(operator);
            registry.finishRotation(id);
        }
        vm.prank(operator);
        cash.recoverRotatedBalance(who);
        _replace(cores, who, fresh);
        _replace(suppliers, who, fresh);
        _replace(banks, who, fresh);
        _replace(everyone, who, fresh);
        _replace(suspendable, who, fresh);
        _tick("rotate", true);
        _sync();
    }

    function _emitInBatches(address token, uint32 id, uint256[] memory held, uint256 n) internal {
        for (uint256 start; start < n; start += 3) {
            uint256 len = n - start < 3 ? n - start : 3;
            uint256[] memory batch = new uint256[](len);
            for (uint256 i; i < len; ++i) {
                batch[i] = held[start + i];
            }
            ReceivableNotes(token).emitRotationTransfers(id, batch);
        }
    }

    function _replace(address[] storage list, address from, address to) internal {
        for (uint256 i; i < list.length; ++i) {
            if (list[i] == from) list[i] = to;
        }
    }

    function suspendOrReinstate(uint256 seed) external {
        address who = suspendable[seed % suspendable.length];
        uint32 id = registry.memberIdOf(who);
        bool active = _isHolder(who);
        if (active && (seed >> 8) % 3 != 0) return; // suspend less often than reinstate
        vm.prank(operator);
        if (active) {
            try registry.suspend(id) {
                _tick("suspend", true);
            } catch {
                _tick("suspend", false);
            }
        } else {
            try registry.reinstate(id) {
                _tick("reinstate", true);
            } catch {
                _tick("reinstate", false);
            }
        }
        _sync();
    }
}

/// @notice Handler-based invariants of the whole ledger.
/// forge-config: default.invariant.runs = 32
/// forge-config: default.invariant.depth = 100
contract InvariantsTest is Base {
    Handler internal handler;

    function setUp() public override {
        super.setUp();
        // core2 needs cash to fund the receivables it owes.
        vm.prank(bank);
        cash.mint(core2, 10_000_000_00, "deposit-core2");
        // A small live-note cap so the fuzzer can reach it.
        vm.prank(operator);
        notes.setPolicy(100, 8, 365 days);

        address[] memory cores_ = new address[](2);
        cores_[0] = core;
        cores_[1] = core2;
        address[] memory suppliers_ = new address[](2);
        suppliers_[0] = supplier;
        suppliers_[1] = supplier2;
        address[] memory banks_ = new address[](2);
        banks_[0] = bank;
        banks_[1] = bank2;
        address[] memory bad_ = new address[](3);
        bad_[0] = outsider;
        bad_[1] = suspended;
        bad_[2] = auditor;
        address[] memory susp_ = new address[](3);
        susp_[0] = core2;
        susp_[1] = supplier2;
        susp_[2] = bank2;
        vm.recordLogs(); // the handler rebuilds owners, slots and values from these events
        handler = new Handler(Handler.Config(registry, cash, notes, orders, financing, settlement, operator));
        handler.setActors(cores_, suppliers_, banks_, bad_, susp_);
        targetContract(address(handler));
        bytes4[] memory sel = new bytes4[](28);
        sel[0] = Handler.issue.selector;
        sel[1] = Handler.split.selector;
        sel[2] = Handler.merge.selector;
        sel[3] = Handler.transferWhole.selector;
        sel[4] = Handler.transferToBad.selector;
        sel[5] = Handler.lock.selector;
        sel[6] = Handler.release.selector;
        sel[7] = Handler.propose.selector;
        sel[8] = Handler.confirm.selector;
        sel[9] = Handler.deliver.selector;
        sel[10] = Handler.pledge.selector;
        sel[11] = Handler.accept.selector;
        sel[12] = Handler.cancel.selector;
        sel[13] = Handler.lend.selector;
        sel[14] = Handler.repay.selector;
        sel[15] = Handler.foreclose.selector;
        sel[16] = Handler.makeOffer.selector;
        sel[17] = Handler.acceptOffer.selector;
        sel[18] = Handler.fund.selector;
        sel[19] = Handler.settle.selector;
        sel[20] = Handler.markDefault.selector;
        sel[21] = Handler.claimDefaulted.selector;
        sel[22] = Handler.warp.selector;
        sel[23] = Handler.suspendOrReinstate.selector;
        sel[24] = Handler.issueMore.selector;
        sel[25] = Handler.orderLifecycle.selector;
        sel[26] = Handler.rotate.selector;
        sel[27] = Handler.splitBatch.selector;
        targetSelector(FuzzSelector({addr: address(handler), selectors: sel}));
    }

    // ------------------------------------------------------------------ 1
    /// @notice Value is conserved: the live notes of an Active receivable together with what was already paid out
    ///         add up to its face value (exactly the face value while nothing was settled); a Defaulted one's live
    ///         notes plus the value redeemed add up to it; a Settled one has no live notes left.
    function invariant_valueConserved() public view {
        uint256 len = handler.slotsLength();
        for (uint256 k; k < len; ++k) {
            uint256 s = handler.slots(k);
            IReceivableNotes.Receivable memory r = notes.receivable(s);
            uint256[] memory ids = handler.liveOf(s);
            uint256 sum;
            for (uint256 i; i < ids.length; ++i) {
                sum += notes.balanceOf(ids[i]);
                assertEq(notes.slotOf(ids[i]), s, "note in wrong slot");
            }
            assertEq(r.faceValue, handler.ghostFace(s), "face value changed");
            if (r.status == IReceivableNotes.SlotStatus.Active) {
                assertEq(sum + handler.ghostBurned(s), r.faceValue, "active: live value + paid != face");
                assertEq(settlement.funding(s).paid, handler.ghostBurned(s), "active: paid != burned value");
                if (handler.ghostBurned(s) == 0) assertEq(sum, r.faceValue, "active: live value != face");
            } else if (r.status == IReceivableNotes.SlotStatus.Defaulted) {
                assertEq(sum + settlement.funding(s).valueRedeemed, r.faceValue, "defaulted: live + redeemed != face");
            } else {
                assertEq(ids.length, 0, "settled slot has live notes");
                assertEq(handler.ghostBurned(s), r.faceValue, "settled: burned != face");
            }
        }
    }

    // ------------------------------------------------------------------ 2
    /// @notice One receivable per invoice and per order: each slot is the one registered for its invoice hash and
    ///         (if any) its order, the order points back at it, and no attempt to reuse either ever succeeded.
    function invariant_oneReceivablePerInvoiceAndOrder() public view {
        assertFalse(handler.invoiceReuseSucceeded(), "invoice reused");
        assertFalse(handler.orderReuseSucceeded(), "order tokenised twice");
        uint256 len = handler.slotsLength();
        for (uint256 k; k < len; ++k) {
            uint256 s = handler.slots(k);
            IReceivableNotes.Receivable memory r = notes.receivable(s);
            assertEq(notes.slotOfInvoice(r.invoiceHash), s, "slotOfInvoice");
            assertEq(handler.ghostSlotOfInvoice(r.invoiceHash), s, "ghost slotOfInvoice");
            if (r.orderId != 0) {
                assertEq(notes.slotOfOrder(r.orderId), s, "slotOfOrder");
                assertEq(orders.order(r.orderId).slotId, s, "order.slotId");
            }
        }
        assertEq(handler.invoicesLength(), len, "distinct invoices != slots");
        uint256 oc = orders.orderCount();
        for (uint256 o = 1; o <= oc; ++o) {
            IOrderBook.Order memory ord = orders.order(o);
            uint256 s = notes.slotOfOrder(o);
            if (ord.status == IOrderBook.OrderStatus.Invoiced) {
                assertTrue(s != 0, "invoiced order without slot");
                assertEq(notes.receivable(s).orderId, o, "slot.orderId");
            } else {
                assertEq(s, 0, "non-invoiced order has a slot");
            }
        }
    }

    // ------------------------------------------------------------------ 3
    /// @notice Only members with a holding role hold notes and orders: each note's holder was an active holder when
    ///         it received the note, and no transfer to an outsider, suspended member or the auditor ever succeeded.
    function invariant_onlyActiveHoldersReceive() public view {
        assertFalse(handler.badTransferSucceeded(), "transfer to non-holder succeeded");
        assertFalse(handler.holderRoleViolated(), "note received by non-active/non-holder");
        uint256 len = handler.slotsLength();
        for (uint256 k; k < len; ++k) {
            uint256[] memory ids = handler.liveOf(handler.slots(k));
            for (uint256 i; i < ids.length; ++i) {
                uint32 h = notes.note(ids[i]).holderId;
                assertTrue(registry.member(h).roles & Roles.HOLDER != 0, "holder lacks holding role");
            }
        }
        uint256 oc = orders.orderCount();
        for (uint256 o = 1; o <= oc; ++o) {
            assertTrue(registry.member(orders.holderOf(o)).roles & Roles.HOLDER != 0, "order holder lacks role");
        }
    }

    // ------------------------------------------------------------------ 4
    /// @notice Locked notes do not move: while a note stays locked to the same lienholder its holder and value are
    ///         those it had when it was locked, and it is never burned.
    function invariant_lockedNotesDoNotMove() public view {
        assertFalse(handler.lockedNoteMoved(), handler.lastViolation());
        uint256 len = handler.slotsLength();
        for (uint256 k; k < len; ++k) {
            uint256[] memory ids = handler.liveOf(handler.slots(k));
            for (uint256 i; i < ids.length; ++i) {
                IReceivableNotes.Note memory n = notes.note(ids[i]);
                if (n.lienholderId == 0) continue;
                Handler.LockRec memory L = handler.lockRec(ids[i]);
                assertEq(L.lien, n.lienholderId, "lock record");
                assertEq(L.holder, n.holderId, "locked note changed holder");
                assertEq(L.value, n.value, "locked note changed value");
            }
        }
    }

    // ------------------------------------------------------------------ 5
    /// @notice States only move forward: a receivable goes Active -> Settled/Defaulted and an order
    ///         Proposed -> Confirmed -> Delivered -> Invoiced (or Proposed -> Cancelled), never back.
    function invariant_statesOnlyMoveForward() public view {
        assertFalse(handler.statusWentBack(), handler.lastViolation());
        uint256 len = handler.slotsLength();
        for (uint256 k; k < len; ++k) {
            uint256 s = handler.slots(k);
            assertEq(uint8(notes.receivable(s).status), handler.lastSlotStatus(s), "slot status drift");
        }
        uint256 oc = orders.orderCount();
        for (uint256 o = 1; o <= oc; ++o) {
            assertEq(uint8(orders.order(o).status), handler.lastOrderStatus(o), "order status drift");
        }
    }

    // ------------------------------------------------------------------ 6
    /// @notice Each obligor's outstanding stays within its credit limit and equals the face value of its Active
    ///         receivables.
    function invariant_outstandingMatchesActiveFaceValue() public view {
        uint32[2] memory obligors = [coreId, core2Id];
        uint256 len = handler.slotsLength();
        for (uint256 j; j < 2; ++j) {
            IMemberRegistry.Member memory m = registry.member(obligors[j]);
            assertLe(m.outstanding, m.creditLimit, "outstanding above credit limit");
            uint256 sum;
            for (uint256 k; k < len; ++k) {
                IReceivableNotes.Receivable memory r = notes.receivable(handler.slots(k));
                if (r.obligorId == obligors[j] && r.status == IReceivableNotes.SlotStatus.Active) sum += r.faceValue;
            }
            assertEq(m.outstanding, sum, "outstanding != face of active receivables");
        }
    }

    // ------------------------------------------------------------------ 7
    /// @notice A receivable never has more live notes than the policy cap, and its live-note counter matches the
    ///         notes that actually exist.
    function invariant_liveNotesWithinCap() public view {
        uint256 cap = notes.maxLiveNotesPerSlot();
        uint256 len = handler.slotsLength();
        for (uint256 k; k < len; ++k) {
            uint256 s = handler.slots(k);
            uint256 live = notes.receivable(s).liveNotes;
            assertLe(live, cap, "live notes above cap");
            assertEq(live, handler.liveOf(s).length, "liveNotes != tracked live notes");
        }
    }

    /// @dev Sanity check of the handler itself: a scripted lifecycle goes through.
    function test_handlerSmoke() public {
        handler.issue(0, 2, 1_000_00, 90 days, 1);
        assertEq(handler.slotsLength(), 1, "issue");
        handler.split(0, 4, 300_00);
        assertEq(handler.liveOf(1).length, 2, "split");
        handler.propose(0, 0, 50_000_00, 30 days);
        handler.confirm(0);
        handler.pledge(0, 0);
        handler.lend(0, 10_000_00, 500, 10 days);
        handler.deliver(0);
        handler.accept(0, 40_000_00, 60 days, 2);
        assertEq(handler.slotsLength(), 2, "accept");
        handler.settle(0, 2, 0, 0, true);
        assertEq(uint8(notes.receivable(1).status), 2, "settled");
        this.afterInvariant();
    }

    /// @dev S-3: a full merge burns the emptied note, so the slot is Settled once the other note is.
    function test_settle_fullMergeBurnsTheEmptiedNote() public {
        (uint256 slotId, uint256 noteId) = _issue(supplier, FACE, keccak256("inv-zero"));
        uint256 other = _split(supplier, noteId, supplier2, 40_000_00);
        vm.prank(supplier);
        notes.transferFrom(noteId, other, 60_000_00); // full merge: noteId is burned
        vm.expectRevert(abi.encodeWithSelector(IReceivableNotes.UnknownNote.selector, noteId));
        notes.balanceOf(noteId);
        assertEq(notes.receivable(slotId).liveNotes, 1);
        vm.prank(core);
        settlement.fund(slotId, FACE);
        vm.warp(block.timestamp + TENOR);
        settlement.settle(slotId, _ids(other));
        IReceivableNotes.Receivable memory r = notes.receivable(slotId);
        assertEq(uint8(r.status), uint8(IReceivableNotes.SlotStatus.Settled));
        assertEq(r.liveNotes, 0);
        assertEq(registry.member(coreId).outstanding, 0);
    }

    /// @dev Documented behaviour: recovery moves (foreclosure) are not bounded by the split policy, so a slot
    ///      at the live-note cap goes one note above it when an overdue loan is foreclosed (the lender must be
    ///      able to recover; keepers pass note ids in batches, so settlement gas stays bounded per batch).
    function test_foreclose_mayExceedLiveNoteCapByOne() public {
        uint256 orderId = _confirmedOrder(FACE);
        vm.prank(supplier);
        orders.pledge(orderId, bank);
        vm.prank(bank);
        uint256 loanId = financing.lend(orderId, 10_000_00, 500, uint64(block.timestamp + 10 days));
        vm.prank(supplier);
        orders.deliver(orderId);
        vm.prank(core);
        (uint256 slotId, uint256 noteId) = orders.accept(orderId, FACE, uint64(block.timestamp + TENOR), keccak256("inv-cap"));
        vm.prank(bank);
        notes.release(noteId); // lienholder releases the note lock, loan still active
        uint256 minimum = notes.minNoteValue(slotId); // S-3: face / cap, so 7 splits fill the cap of 8
        for (uint256 i; i < 7; ++i) {
            _split(supplier, noteId, supplier2, minimum);
        }
        assertEq(notes.receivable(slotId).liveNotes, 8);
        vm.prank(supplier);
        notes.lock(noteId, bank); // re-pledged to the same financier
        vm.warp(block.timestamp + 11 days); // loan overdue, receivable not matured
        vm.prank(bank);
        financing.foreclose(loanId);
        assertEq(notes.receivable(slotId).liveNotes, notes.maxLiveNotesPerSlot() + 1);
    }

    /// @dev Regression: foreclosure never seizes a third party's note, even one pledged to the same financier.
    function test_foreclose_revertsOnThirdPartyNoteRelockedToSameBank() public {
        uint256 orderId = _confirmedOrder(FACE);
        vm.prank(supplier);
        orders.pledge(orderId, bank);
        vm.prank(bank);
        uint256 loanId = financing.lend(orderId, 10_000_00, 500, uint64(block.timestamp + 10 days));
        vm.prank(supplier);
        orders.deliver(orderId);
        vm.prank(core);
        (, uint256 noteId) = orders.accept(orderId, FACE, uint64(block.timestamp + TENOR), keccak256("inv-seize"));
        vm.prank(bank);
        notes.release(noteId);
        _split(supplier, noteId, supplier, FACE - notes.minNoteValue(1)); // keep the minimum (S-3) in the first note
        vm.prank(supplier);
        notes.transferFrom(supplier, supplier2, noteId); // sold to a third party, unlocked
        vm.prank(supplier2);
        notes.lock(noteId, bank); // the third party pledges its note to the same bank
        vm.warp(block.timestamp + 11 days);
        vm.expectRevert(abi.encodeWithSelector(IFinancing.CollateralReleased.selector, loanId, noteId));
        vm.prank(bank);
        financing.foreclose(loanId);
        assertEq(notes.ownerOf(noteId), supplier2);
    }

    /// @notice The events alone rebuild the ledger: the owner (ERC-721 Transfer, including key rotations), the
    ///         slot (SlotChanged, also on burns) and the value (TransferValue) of every note, and the owner of
    ///         every order, match ownerOf / slotOf / balanceOf; burned notes are owned by nobody, in no slot, with
    ///         no value.
    function invariant_eventsRebuildOwnersSlotsValues() public view {
        uint256 nc = notes.noteCount();
        for (uint256 id = 1; id <= nc; ++id) {
            try notes.ownerOf(id) returns (address owner) {
                assertEq(handler.evOwner(id), owner, "note owner from events");
                assertEq(handler.evSlot(id), notes.slotOf(id), "note slot from events");
                assertEq(handler.evValue(id), notes.balanceOf(id), "note value from events");
            } catch {
                assertEq(handler.evOwner(id), address(0), "burned note owner from events");
                assertEq(handler.evSlot(id), 0, "burned note slot from events");
                assertEq(handler.evValue(id), 0, "burned note value from events");
            }
        }
        uint256 oc = orders.orderCount();
        for (uint256 o = 1; o <= oc; ++o) {
            assertEq(handler.evOrderOwner(o), orders.ownerOf(o), "order owner from events");
        }
    }

    /// @notice Call summary (successful / attempted handler actions), shown with -vv.
    function afterInvariant() external view {
        string[26] memory names = [
            "issue", "split", "merge", "transferWhole", "transferToBad", "lock", "release", "propose", "confirm",
            "deliver", "pledge", "accept", "cancel", "lend", "repay", "foreclose", "makeOffer", "acceptOffer", "fund",
            "settle", "markDefault", "claimDefaulted", "warp", "suspend", "rotate", "splitBatch"
        ];
        string memory line = "ok/tries:";
        for (uint256 i; i < names.length; ++i) {
            bytes32 k = bytes32(bytes(names[i]));
            line = string.concat(
                line, " ", names[i], "=", vm.toString(handler.okCalls(k)), "/", vm.toString(handler.tries(k))
            );
        }
        console2.log(line);
        console2.log("slots", handler.slotsLength(), "notes", notes.noteCount());
        console2.logBytes4(handler.lastAcceptError());
    }
}
