"""Typed wrappers for the contract functions the service uses.

One small class per contract, built from a web3 `Contract` handle and the `RevertDecoder`:

- a *write* method returns a `ContractCall` (contract name, full function signature, normalised
  arguments); nothing is sent. `api.writes.WriteContext.transact` sends it through the signer, whose
  pre-flight (eth_estimateGas) and receipt check decode reverts into `ContractRevertError`;
- a *read* method runs eth_call and returns a typed result (a frozen dataclass for a Solidity struct,
  an int for an amount or id); a revert raises `ContractRevertError` with the custom error's name and
  arguments, decoded like the signer does.

Full signatures (not bare names) pick the overload: ReceivableNotes has three `transferFrom`s.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from eth_abi.abi import encode as abi_encode
from eth_typing import BlockIdentifier, ChecksumAddress, HexStr
from web3.contract import Contract
from web3.exceptions import ContractLogicError

from chain.node.abi import checksum_address, selector, signature_types
from chain.node.revert import RevertDecoder

T = TypeVar("T")


@dataclass(frozen=True)
class ContractCall:
    """One contract function call, not sent yet: what `WriteContext.transact` accepts."""

    contract: str  # the deployment name, e.g. "OrderBook"
    signature: str  # canonical, e.g. "propose(address,uint128,address,bytes32,uint64)"
    args: tuple[Any, ...]

    @property
    def function(self) -> str:
        return self.signature[: self.signature.index("(")]

    @property
    def selector(self) -> bytes:
        return selector(self.signature)

    def data(self) -> HexStr:
        """The calldata: selector + ABI-encoded arguments (the same bytes as web3's `encode_abi`)."""
        encoded = abi_encode(signature_types(self.signature), list(self.args))
        return HexStr("0x" + (self.selector + encoded).hex())


# ------------------------------------------------------------------------------------- structs


@dataclass(frozen=True)
class Member:
    """IMemberRegistry.Member."""

    account: ChecksumAddress
    roles: int
    status: int  # IMemberRegistry.Status
    default_count: int
    issuance_blocked: bool
    group_id: int
    credit_limit: int
    outstanding: int
    kyc_hash: bytes


@dataclass(frozen=True)
class Order:
    """IOrderBook.Order."""

    supplier_id: int
    buyer_id: int
    lienholder_id: int
    status: int  # IOrderBook.OrderStatus
    due_date: int
    amount: int
    cash_token: ChecksumAddress
    document_hash: bytes
    slot_id: int


@dataclass(frozen=True)
class Receivable:
    """IReceivableNotes.Receivable (one slot)."""

    obligor_id: int
    creditor_id: int
    status: int  # IReceivableNotes.SlotStatus
    live_notes: int
    issued_at: int
    maturity: int
    face_value: int
    cash_token: ChecksumAddress
    invoice_hash: bytes
    order_id: int


@dataclass(frozen=True)
class Note:
    """IReceivableNotes.Note."""

    holder_id: int
    lienholder_id: int
    slot_id: int
    value: int
    parent_id: int


@dataclass(frozen=True)
class Offer:
    """Financing.Offer."""

    financier_id: int
    status: int  # Financing.OfferStatus
    recourse: bool
    rate_bps: int
    expiry: int
    value: int
    note_id: int


@dataclass(frozen=True)
class Purchase:
    """Financing.Purchase."""

    seller_id: int
    financier_id: int
    recourse: bool
    recourse_status: int  # Financing.RecourseStatus
    value: int
    price: int
    note_id: int
    offer_id: int
    recourse_amount: int


@dataclass(frozen=True)
class Loan:
    """Financing.Loan."""

    financier_id: int
    borrower_id: int
    status: int  # Financing.LoanStatus
    rate_bps: int
    started_at: int
    due_date: int
    principal: int
    order_id: int


@dataclass(frozen=True)
class Fund:
    """Settlement.Fund (the cash side of one receivable)."""

    funded: int
    paid: int
    value_redeemed: int


def _address(value: str) -> ChecksumAddress:
    return checksum_address(value)


def _bytes32(value: bytes | str) -> bytes:
    raw = bytes.fromhex(value.removeprefix("0x")) if isinstance(value, str) else bytes(value)
    if len(raw) != 32:
        raise ValueError(f"expected 32 bytes, got {len(raw)}")
    return raw


# ------------------------------------------------------------------------------------ wrappers


class ContractWrapper:
    """Base: the contract's deployment name, its handle, and the decoder for reverts of its views."""

    NAME: ClassVar[str]

    def __init__(self, handle: Contract, decoder: RevertDecoder | None = None) -> None:
        self.handle = handle
        self.decoder = decoder if decoder is not None else RevertDecoder.from_build_dir()

    @property
    def address(self) -> ChecksumAddress:
        return self.handle.address

    def _write(self, signature: str, *args: Any) -> ContractCall:
        return ContractCall(self.NAME, signature, tuple(args))

    def _read(self, signature: str, *args: Any, block: BlockIdentifier = "latest") -> Any:
        """eth_call of a view; a revert raises the decoded ContractRevertError."""
        function = self.handle.get_function_by_signature(signature)(*args)
        try:
            return function.call(block_identifier=block)
        except ContractLogicError as exc:
            raise self.decoder.from_exception(exc, contract=self.NAME, address=self.address) from exc

    def _struct(self, make: Callable[..., T], signature: str, *args: Any, block: BlockIdentifier = "latest") -> T:
        return make(*self._read(signature, *args, block=block))


@dataclass(frozen=True)
class Rotation:
    """A member's latest key rotation (`MemberRegistry.rotationOf`)."""

    rotation_id: int  # ledger-wide id, 0 = never rotated
    previous: ChecksumAddress  # the account it was rotated from
    rotating: bool  # not finished: the member's holdings are frozen


class _MemberHoldings(ContractWrapper):
    """Token contracts that record holders by member id: the rotation `Transfer` events (IMemberHoldings)."""

    def emit_rotation_transfers(self, member_id: int, token_ids: Sequence[int]) -> ContractCall:
        return self._write("emitRotationTransfers(uint32,uint256[])", member_id, list(token_ids))

    def rotation_pending(self, member_id: int) -> int:
        return int(self._read("rotationPending(uint32)", member_id))


class MemberRegistry(ContractWrapper):
    NAME = "MemberRegistry"

    # writes (operator)
    def admit(self, account: str, roles: int, kyc_hash: bytes | str, group_id: int, credit_limit: int) -> ContractCall:
        return self._write(
            "admit(address,uint8,bytes32,uint64,uint128)",
            _address(account),
            roles,
            _bytes32(kyc_hash),
            group_id,
            credit_limit,
        )

    def suspend(self, member_id: int) -> ContractCall:
        return self._write("suspend(uint32)", member_id)

    def reinstate(self, member_id: int) -> ContractCall:
        return self._write("reinstate(uint32)", member_id)

    def clear_default_block(self, member_id: int) -> ContractCall:
        return self._write("clearDefaultBlock(uint32)", member_id)

    def set_kyc_hash(self, member_id: int, kyc_hash: bytes | str) -> ContractCall:
        return self._write("setKycHash(uint32,bytes32)", member_id, _bytes32(kyc_hash))

    def set_credit_limit(self, member_id: int, credit_limit: int) -> ContractCall:
        return self._write("setCreditLimit(uint32,uint128)", member_id, credit_limit)

    def rotate_account(self, member_id: int, new_account: str) -> ContractCall:
        return self._write("rotateAccount(uint32,address)", member_id, _address(new_account))

    def finish_rotation(self, member_id: int) -> ContractCall:
        return self._write("finishRotation(uint32)", member_id)

    def rotation_of(self, member_id: int) -> Rotation:
        rotation_id, previous, rotating = self._read("rotationOf(uint32)", member_id)
        return Rotation(int(rotation_id), _address(previous), bool(rotating))

    # views
    def member(self, member_id: int, *, block: BlockIdentifier = "latest") -> Member:
        return self._struct(Member, "member(uint32)", member_id, block=block)

    def member_count(self) -> int:
        return int(self._read("memberCount()"))

    def member_id_of(self, account: str) -> int:
        return int(self._read("memberIdOf(address)", _address(account)))

    def account_of(self, member_id: int) -> ChecksumAddress:
        return _address(self._read("accountOf(uint32)", member_id))

    def is_active(self, account: str, role_mask: int) -> bool:
        return bool(self._read("isActive(address,uint8)", _address(account), role_mask))


class CashToken(ContractWrapper):
    NAME = "CashToken"

    def mint(self, to: str, amount: int, deposit_ref: bytes | str) -> ContractCall:
        return self._write("mint(address,uint256,bytes32)", _address(to), amount, _bytes32(deposit_ref))

    def burn(self, source: str, amount: int, deposit_ref: bytes | str) -> ContractCall:
        return self._write("burn(address,uint256,bytes32)", _address(source), amount, _bytes32(deposit_ref))

    def transfer(self, to: str, amount: int) -> ContractCall:
        return self._write("transfer(address,uint256)", _address(to), amount)

    def recover_rotated_balance(self, old_account: str) -> ContractCall:
        return self._write("recoverRotatedBalance(address)", _address(old_account))

    def set_mint_ceiling(self, financier_id: int, ceiling: int) -> ContractCall:
        """Operator: the most the financier may have outstanding (minted minus burned), in minor units."""
        return self._write("setMintCeiling(uint32,uint128)", financier_id, ceiling)

    def mint_ceiling_of(self, financier_id: int) -> tuple[int, int]:
        """(ceiling, outstanding) of a financier, in minor units."""
        ceiling, outstanding = self._read("mintCeilingOf(uint32)", financier_id)
        return int(ceiling), int(outstanding)

    def balance_of(self, account: str, *, block: BlockIdentifier = "latest") -> int:
        return int(self._read("balanceOf(address)", _address(account), block=block))

    def total_supply(self) -> int:
        return int(self._read("totalSupply()"))


class ReceivableNotes(_MemberHoldings):
    NAME = "ReceivableNotes"

    def issue(
        self, creditor: str, face_value: int, cash_token: str, maturity: int, invoice_hash: bytes | str
    ) -> ContractCall:
        return self._write(
            "issue(address,uint128,address,uint64,bytes32)",
            _address(creditor),
            face_value,
            _address(cash_token),
            maturity,
            _bytes32(invoice_hash),
        )

    def split(self, note_id: int, to: str, value: int) -> ContractCall:
        """ERC-3525 value transfer to an address: a new note of `value` for `to`."""
        return self._write("transferFrom(uint256,address,uint256)", note_id, _address(to), value)

    def split_batch(self, note_id: int, to: Sequence[str], values: Sequence[int]) -> ContractCall:
        """Bulk payment: one split per recipient, all in one transaction or none (new notes in list order)."""
        return self._write("splitBatch(uint256,address[],uint256[])", note_id, [_address(a) for a in to], list(values))

    def transfer_whole(self, owner: str, to: str, note_id: int) -> ContractCall:
        """ERC-721 transfer of the whole note."""
        return self._write("transferFrom(address,address,uint256)", _address(owner), _address(to), note_id)

    def merge(self, note_id: int, into: int, value: int) -> ContractCall:
        """ERC-3525 value transfer between two notes of the same slot."""
        return self._write("transferFrom(uint256,uint256,uint256)", note_id, into, value)

    def lock(self, note_id: int, lienholder: str) -> ContractCall:
        return self._write("lock(uint256,address)", note_id, _address(lienholder))

    def release(self, note_id: int) -> ContractCall:
        return self._write("release(uint256)", note_id)

    def note(self, note_id: int, *, block: BlockIdentifier = "latest") -> Note:
        return self._struct(Note, "note(uint256)", note_id, block=block)

    def receivable(self, slot_id: int, *, block: BlockIdentifier = "latest") -> Receivable:
        return self._struct(Receivable, "receivable(uint256)", slot_id, block=block)

    def note_count(self) -> int:
        return int(self._read("noteCount()"))

    def slot_count(self) -> int:
        return int(self._read("slotCount()"))

    def value_of(self, note_id: int) -> int:
        return int(self._read("balanceOf(uint256)", note_id))

    def owner_of(self, note_id: int) -> ChecksumAddress:
        return _address(self._read("ownerOf(uint256)", note_id))

    def slot_of_order(self, order_id: int) -> int:
        return int(self._read("slotOfOrder(uint256)", order_id))


class OrderBook(_MemberHoldings):
    NAME = "OrderBook"

    def propose(
        self, buyer: str, amount: int, cash_token: str, document_hash: bytes | str, due_date: int
    ) -> ContractCall:
        return self._write(
            "propose(address,uint128,address,bytes32,uint64)",
            _address(buyer),
            amount,
            _address(cash_token),
            _bytes32(document_hash),
            due_date,
        )

    def confirm(self, order_id: int) -> ContractCall:
        return self._write("confirm(uint256)", order_id)

    def deliver(self, order_id: int) -> ContractCall:
        return self._write("deliver(uint256)", order_id)

    def cancel(self, order_id: int) -> ContractCall:
        return self._write("cancel(uint256)", order_id)

    def release(self, order_id: int) -> ContractCall:
        return self._write("release(uint256)", order_id)

    def accept(self, order_id: int, face_value: int, maturity: int, invoice_hash: bytes | str) -> ContractCall:
        return self._write(
            "accept(uint256,uint128,uint64,bytes32)", order_id, face_value, maturity, _bytes32(invoice_hash)
        )

    def pledge(self, order_id: int, financier: str) -> ContractCall:
        return self._write("pledge(uint256,address)", order_id, _address(financier))

    def order(self, order_id: int, *, block: BlockIdentifier = "latest") -> Order:
        return self._struct(Order, "order(uint256)", order_id, block=block)

    def order_count(self) -> int:
        return int(self._read("orderCount()"))

    def holder_of(self, order_id: int) -> int:
        return int(self._read("holderOf(uint256)", order_id))


class Financing(ContractWrapper):
    NAME = "Financing"

    def make_offer(self, note_id: int, value: int, rate_bps: int, recourse: bool, expiry: int) -> ContractCall:
        return self._write("makeOffer(uint256,uint96,uint32,bool,uint64)", note_id, value, rate_bps, recourse, expiry)

    def cancel_offer(self, offer_id: int) -> ContractCall:
        return self._write("cancelOffer(uint256)", offer_id)

    def accept_offer(self, offer_id: int) -> ContractCall:
        return self._write("acceptOffer(uint256)", offer_id)

    def claim_recourse(self, purchase_id: int) -> ContractCall:
        return self._write("claimRecourse(uint256)", purchase_id)

    def pay_recourse(self, purchase_id: int) -> ContractCall:
        return self._write("payRecourse(uint256)", purchase_id)

    def lend(self, order_id: int, principal: int, rate_bps: int, due_date: int) -> ContractCall:
        return self._write("lend(uint256,uint96,uint32,uint64)", order_id, principal, rate_bps, due_date)

    def repay(self, loan_id: int) -> ContractCall:
        return self._write("repay(uint256)", loan_id)

    def foreclose(self, loan_id: int) -> ContractCall:
        return self._write("foreclose(uint256)", loan_id)

    def offer(self, offer_id: int, *, block: BlockIdentifier = "latest") -> Offer:
        return self._struct(Offer, "offer(uint256)", offer_id, block=block)

    def purchase(self, purchase_id: int, *, block: BlockIdentifier = "latest") -> Purchase:
        return self._struct(Purchase, "purchase(uint256)", purchase_id, block=block)

    def loan(self, loan_id: int, *, block: BlockIdentifier = "latest") -> Loan:
        return self._struct(Loan, "loan(uint256)", loan_id, block=block)

    def quote(self, offer_id: int) -> int:
        """What accepting the open offer pays the holder now."""
        return int(self._read("quote(uint256)", offer_id))

    def amount_owed(self, loan_id: int) -> int:
        """Principal plus interest to date of an active loan."""
        return int(self._read("amountOwed(uint256)", loan_id))

    def loan_of_order(self, order_id: int) -> int:
        return int(self._read("loanOfOrder(uint256)", order_id))


class Settlement(ContractWrapper):
    NAME = "Settlement"

    def fund(self, slot_id: int, amount: int) -> ContractCall:
        return self._write("fund(uint256,uint256)", slot_id, amount)

    def settle(self, slot_id: int, note_ids: Sequence[int]) -> ContractCall:
        return self._write("settle(uint256,uint256[])", slot_id, tuple(note_ids))

    def claim_defaulted(self, slot_id: int, note_ids: Sequence[int]) -> ContractCall:
        return self._write("claimDefaulted(uint256,uint256[])", slot_id, tuple(note_ids))

    def mark_default(self, slot_id: int) -> ContractCall:
        return self._write("markDefault(uint256)", slot_id)

    def redeem(self, note_id: int) -> ContractCall:
        return self._write("redeem(uint256)", note_id)

    def funding(self, slot_id: int, *, block: BlockIdentifier = "latest") -> Fund:
        return self._struct(Fund, "funding(uint256)", slot_id, block=block)

    def grace_period(self) -> int:
        return int(self._read("gracePeriod()"))


WRAPPERS: tuple[type[ContractWrapper], ...] = (
    MemberRegistry,
    CashToken,
    ReceivableNotes,
    OrderBook,
    Financing,
    Settlement,
)


@dataclass(frozen=True)
class Contracts:
    """The six wrappers of one deployment."""

    members: MemberRegistry
    cash: CashToken
    notes: ReceivableNotes
    orders: OrderBook
    financing: Financing
    settlement: Settlement

    @classmethod
    def build(cls, handle: Callable[[str], Contract], decoder: RevertDecoder | None = None) -> Contracts:
        """`handle`: deployment name -> web3 Contract (e.g. `LedgerHandle.contract`)."""
        return cls(
            MemberRegistry(handle(MemberRegistry.NAME), decoder),
            CashToken(handle(CashToken.NAME), decoder),
            ReceivableNotes(handle(ReceivableNotes.NAME), decoder),
            OrderBook(handle(OrderBook.NAME), decoder),
            Financing(handle(Financing.NAME), decoder),
            Settlement(handle(Settlement.NAME), decoder),
        )
